"""Durable hosts for wearer sessions other than the in-process session host (engine.assistant.host)."""
