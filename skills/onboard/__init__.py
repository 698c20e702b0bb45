"""Skills the glasses answer themselves: saving media and the teleprompter."""
