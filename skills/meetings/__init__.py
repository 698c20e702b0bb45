"""Meetings: crash-safe transcripts and summaries."""
