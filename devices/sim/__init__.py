"""The simulated glasses: scenarios, the simulator, live sessions and HUD previews."""
