"""The HUD: layouts the engine owns, composed under priorities and an update-rate limit, rendered two ways."""
