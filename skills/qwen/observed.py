"""What one request to the model leaves behind: a `lensflow.model` span and one log line.

Both say which model, what for (`routing` an utterance, an `answer`, `vision` on a photo,
`translation`), how long it took and the tokens the endpoint counted; a failure adds its
code. Neither carries the prompt, the answer or a key.

    call = ModelCall("qwen-plus", purpose_of(messages, tools, extra_body))
    try:
        response = await request()
    except BaseException as exc:
        call.end(exc)
        raise
    call.count(response.usage)
    call.end()
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from engine.tracing import failed, tracer

__all__ = ["ModelCall", "purpose_of"]

log = logging.getLogger(__name__)


def purpose_of(
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> str:
    """What a request is for, read from its shape: tools to choose from are routing, a photo is vision.

    >>> purpose_of([{"role": "user", "content": "hi"}], tools=[{"type": "function"}])
    'routing'
    """
    if tools:
        return "routing"
    if extra_body and "translation_options" in extra_body:
        return "translation"
    for message in messages:
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(p, dict) and p.get("type") == "image_url" for p in content):
            return "vision"
    return "answer"


def _tokens(usage: Any, name: str) -> int | None:
    value = getattr(usage, name, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ModelCall:
    """One request (with its retries): timed, counted, and ended once with `end`."""

    def __init__(self, model: str, purpose: str, streamed: bool = False) -> None:
        self.model, self.purpose, self.streamed = model, purpose, streamed
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.started = time.perf_counter()
        active = tracer()
        attributes: dict[str, str | bool] = {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "lensflow.model.purpose": purpose,
            "lensflow.model.streamed": streamed,
        }
        # not made current: a model call has no children, and a stream's span outlives its first await
        self.span = active.start_span("lensflow.model", attributes=attributes) if active is not None else None

    def count(self, usage: Any) -> None:
        """The token counts the endpoint reported (a streamed answer reports them in its last chunk)."""
        if usage is not None:
            self.input_tokens = _tokens(usage, "prompt_tokens")
            self.output_tokens = _tokens(usage, "completion_tokens")

    def end(self, error: BaseException | None = None) -> None:
        ms = round((time.perf_counter() - self.started) * 1000, 1)
        fields: dict[str, Any] = {"model": self.model, "purpose": self.purpose, "ms": ms}
        if self.input_tokens is not None:
            fields["input_tokens"], fields["output_tokens"] = self.input_tokens, self.output_tokens
        stopped = isinstance(error, asyncio.CancelledError | GeneratorExit)
        if error is None:
            log.info("model call", extra=fields)
        elif stopped:
            log.info("model call stopped", extra=fields)
        else:
            code = getattr(error, "code", None)
            fields["code"] = code if isinstance(code, str) and code else type(error).__name__
            log.warning("model call failed: %s", fields["code"], extra=fields)
        if self.span is None:
            return
        if self.input_tokens is not None:
            self.span.set_attribute("gen_ai.usage.input_tokens", self.input_tokens)
        if self.output_tokens is not None:
            self.span.set_attribute("gen_ai.usage.output_tokens", self.output_tokens)
        if error is not None:
            failed(self.span, error)
        self.span.end()
