"""Qwen: the OpenAI-compatible client and the skills answered by the model."""
