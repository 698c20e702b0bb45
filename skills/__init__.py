"""Services that flows invoke, each with an online provider and an embedded default."""
