"""What the assistant needs of a chat model: the engine's side of the line, with no `openai` import.

The Qwen client (`skills.qwen.client.QwenClient`) satisfies `ChatModel`; so does any other
OpenAI-compatible client a deployment brings. A failed call is one `LlmError` with a
documented code, whatever library raised it underneath.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from engine.errors import LensflowError

__all__ = ["ChatModel", "ChatModelSettings", "LlmError"]


class LlmError(LensflowError):
    """A failed model call: `code` (a code of schemas/catalog/errors.json: TIMEOUT, UNAVAILABLE,
    RATE_LIMITED, UNAUTHORIZED, BAD_REQUEST, PROVIDER_ERROR, INVALID_OUTPUT, CONFIG ...) and whether
    retrying could help; `str()` is `CODE: message`."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(code, message)
        self.args = (f"{code}: {message}",)
        self.retryable = retryable


class ChatModelSettings(Protocol):
    @property
    def configured(self) -> bool: ...

    @property
    def base_url(self) -> str: ...


class ChatModel(Protocol):
    """One chat-completions endpoint: a plain call and a streamed one, both raising `LlmError`."""

    @property
    def settings(self) -> ChatModelSettings: ...

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
    ) -> Any: ...

    async def chat_streamed(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, on_text: Callable[[str], Any]
    ) -> Any: ...
