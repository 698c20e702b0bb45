"""Lensflow engine: reading, checking and (as it grows) compiling and running flows.

Nothing here imports a device driver, a skill provider, rich or the CLI.
"""
