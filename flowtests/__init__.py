"""Flow tests: YAML cases played on the simulated glasses, their assertions, and a scripted model server."""
