"""Static checks, one small rule per function, registered by slug in `base.RULES`."""
