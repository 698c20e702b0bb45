"""The scripted OpenAI-compatible server the flow tests use, shared with the unit tests."""

from flowtests.scripted_llm import ERROR_CODES, ERROR_TYPES, OpenAICompatServer, Reply

__all__ = ["ERROR_CODES", "ERROR_TYPES", "OpenAICompatServer", "Reply"]
