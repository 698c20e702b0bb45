"""Designer tools over the flow model: exploration, diagrams and the generated reference."""
