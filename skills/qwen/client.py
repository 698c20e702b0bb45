"""Qwen through the `openai` client: settings, retries, structured results, streaming, token usage.

Any OpenAI-compatible endpoint serving a Qwen model works:

| where | LENSFLOW_LLM_BASE_URL | LENSFLOW_LLM_MODEL | key variable |
| --- | --- | --- | --- |
| DashScope (default) | https://dashscope.aliyuncs.com/compatible-mode/v1 | qwen-plus | DASHSCOPE_API_KEY |
| Ollama | http://127.0.0.1:11434/v1 | qwen2.5:7b | none needed |
| vLLM | http://127.0.0.1:8000/v1 | Qwen/Qwen2.5-7B-Instruct | none needed |
| llama.cpp server | http://127.0.0.1:8080/v1 | qwen2.5 | none needed |

`LENSFLOW_LLM_API_KEY_ENV` names the variable holding the key. Every call has a
timeout; 429 and 5xx (and timeouts, dropped connections) are retried with
exponential backoff honouring `Retry-After`; 400 and 401 are not, nor a connection
refused by a local endpoint (nothing listens there; it fails at once). Numeric
settings are parsed by `engine.settings` (a typo is a one-line error). Qwen3's thinking
is turned off (`enable_thinking: false`) unless asked for. Provider errors become
`LlmError` with the code every provider gives for the same failure (`skills.errors`), which the
runtime turns into `error.code`.

A photo for an `llm` step goes to the model as a data URL: a model server cannot
open a path on the glasses. Only files in the files or captures folder are read
(FILE_NOT_ALLOWED otherwise); http(s) and `data:image/` URLs pass as they are.

An `AsyncOpenAI` client holds connections of the event loop it was used on; left to
the garbage collector it is closed on whatever loop runs next, which fails with
"Event loop is closed". `run_closing` runs a coroutine like `asyncio.run` and closes
every client opened on its loop (and ends left-over tasks) before the loop closes.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import mimetypes
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from engine.assistant.chat_model import LlmError
from engine.runtime.calls import SkillError
from engine.settings import number
from skills.errors import causes, classify
from skills.files import read_allowed
from skills.qwen.observed import ModelCall, purpose_of

if TYPE_CHECKING:
    from engine.runtime.calls import SkillContext

__all__ = [
    "DASHSCOPE_URL",
    "MAX_IMAGE_BYTES",
    "URL_PREFIXES",
    "LlmSettings",
    "QwenClient",
    "Usage",
    "close_clients",
    "image_url",
    "run_closing",
]

T = TypeVar("T")
log = logging.getLogger(__name__)
MAX_IMAGE_BYTES = 32 << 20
URL_PREFIXES = ("http://", "https://", "data:image/")
# clients holding connections, each on its loop (by id: a dataclass with `eq` is not hashable)
_OPEN: weakref.WeakValueDictionary[int, QwenClient] = weakref.WeakValueDictionary()

DASHSCOPE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"


@dataclass(frozen=True)
class LlmSettings:
    base_url: str = DASHSCOPE_URL
    model: str = "qwen-plus"
    api_key_env: str = "DASHSCOPE_API_KEY"
    timeout_s: float = 20.0
    max_retries: int = 3
    backoff_s: float = 0.5
    enable_thinking: bool = False

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> LlmSettings:
        env = dict(os.environ if env is None else env)
        key_env = env.get("LENSFLOW_LLM_API_KEY_ENV")
        if key_env is None:  # the provider's usual variable, else the OpenAI client's
            key_env = (
                "DASHSCOPE_API_KEY"
                if env.get("DASHSCOPE_API_KEY") or not env.get("OPENAI_API_KEY")
                else "OPENAI_API_KEY"
            )
        return cls(
            base_url=env.get("LENSFLOW_LLM_BASE_URL")
            or env.get("DASHSCOPE_BASE_URL")
            or env.get("OPENAI_BASE_URL")
            or DASHSCOPE_URL,
            model=env.get("LENSFLOW_LLM_MODEL") or env.get("QWEN_MODEL") or "qwen-plus",
            api_key_env=key_env,
            timeout_s=number("LENSFLOW_LLM_TIMEOUT", 20.0, env, above_minimum=True),
            max_retries=int(number("LENSFLOW_LLM_RETRIES", 3, env, maximum=10, integer=True)),
            enable_thinking=env.get("LENSFLOW_LLM_THINKING", "") in ("1", "true", "yes"),
        )

    @property
    def local(self) -> bool:
        """A server on this machine (Ollama, vLLM, llama.cpp): no key needed, and nothing to wait for
        when it is not listening."""
        return self.base_url.startswith(("http://127.", "http://localhost", "http://[::1]"))

    def api_key(self) -> str | None:
        key = os.environ.get(self.api_key_env)
        if key:
            return key
        return "not-needed" if self.local else None

    @property
    def configured(self) -> bool:
        return self.api_key() is not None


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, usage: Any) -> None:
        self.calls += 1
        if usage is not None:
            self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
            self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)


@dataclass
class QwenClient:
    settings: LlmSettings = field(default_factory=LlmSettings.from_env)
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self) -> None:
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _openai(self) -> Any:
        if self._client is None:
            key = self.settings.api_key()
            if key is None:
                raise LlmError("CONFIG", f"no API key in ${self.settings.api_key_env} for {self.settings.base_url}")
            from openai import AsyncOpenAI

            self._client = AsyncOpenAI(
                base_url=self.settings.base_url, api_key=key, timeout=self.settings.timeout_s, max_retries=0
            )
            self._loop = asyncio.get_running_loop()
            _OPEN[id(self)] = self
        return self._client

    async def aclose(self) -> None:
        """Close the connections (on the loop they were opened on); the next call opens new ones."""
        client, self._client, self._loop = self._client, None, None
        _OPEN.pop(id(self), None)
        if client is not None:
            await client.close()

    def _extra(self) -> dict[str, Any]:
        return {"enable_thinking": self.settings.enable_thinking}

    async def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        extra_body: dict[str, Any] | None = None,
        sleep: Callable[[int], Awaitable[None]] | None = None,
    ) -> Any:
        """One chat completion (with retries); returns the `message` of the first choice.

        `sleep(ms)` waits between retries (the session's clock); real time without it."""
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "extra_body": {**self._extra(), **(extra_body or {})},
        }
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = "auto"
        if response_format:
            kwargs["response_format"] = response_format
        call = ModelCall(self.settings.model, purpose_of(messages, tools, extra_body))
        try:
            response = await self._with_retries(lambda: self._openai().chat.completions.create(**kwargs), sleep)
        except BaseException as exc:
            call.end(exc)
            raise
        self.usage.add(getattr(response, "usage", None))
        call.count(getattr(response, "usage", None))
        call.end()
        if not response.choices:
            raise LlmError("PROVIDER_ERROR", "the answer has no choices")
        return response.choices[0].message

    async def _deltas(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Any:
        """The `delta` of each streamed chunk (SSE), counting usage; a stream cut short raises TRUNCATED."""
        kwargs: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "extra_body": self._extra(),
        }
        if tools:
            kwargs["tools"] = tools
            kwargs["tool_choice"] = "auto"
        call = ModelCall(self.settings.model, purpose_of(messages, tools), streamed=True)
        try:
            stream = await self._with_retries(lambda: self._openai().chat.completions.create(**kwargs))
            finished = False
            chunks = aiter(stream)
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception as exc:  # the provider's errors only, not the consumer's
                    raise _translate(exc) from None
                if getattr(chunk, "usage", None) is not None:
                    self.usage.add(chunk.usage)
                    call.count(chunk.usage)
                for choice in chunk.choices or []:
                    if choice.delta is not None:
                        yield choice.delta
                    if choice.finish_reason:
                        finished = True
            if not finished:
                raise LlmError("TRUNCATED", "the answer stream ended before the model finished", retryable=True)
        except BaseException as exc:
            call.end(exc)
            raise
        call.end()

    async def chat_streamed(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, on_text: Any
    ) -> Any:
        """One streamed completion: text is handed to `on_text` as it arrives (a spoken answer can
        start at once), tool calls are assembled from their pieces. Returns a message-like object."""
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        async for delta in self._deltas(messages, tools):
            if delta.content:
                text.append(delta.content)
                if on_text is not None:
                    on_text(delta.content)
            for piece in delta.tool_calls or []:
                call = calls.setdefault(piece.index, {"id": "", "name": "", "arguments": ""})
                if piece.id:
                    call["id"] = piece.id
                if piece.function is not None:
                    call["name"] += piece.function.name or ""
                    call["arguments"] += piece.function.arguments or ""
        return _StreamedMessage(
            "".join(text) or None,
            [_StreamedCall(c["id"] or f"call_{i}", c["name"], c["arguments"]) for i, c in sorted(calls.items())],
        )

    async def stream(self, messages: list[dict[str, Any]]) -> AsyncIterator[str]:
        """Text of a spoken answer as it arrives (SSE). A stream cut short raises TRUNCATED."""
        async for delta in self._deltas(messages):
            if delta.content:
                yield delta.content

    async def complete(
        self,
        prompt: str,
        system: str | None,
        image: str | None,
        schema: dict[str, Any] | None,
        context: SkillContext | None = None,
    ) -> Any:
        """The runtime's `llm` step (`engine.runtime.calls.LlmProvider`, which owns this signature): a JSON
        answer when a schema is given (validated by the runner).

        An answer that is not JSON is INVALID_OUTPUT, which the runner repairs once.
        `context` (the session's `SkillContext`) makes retry waits take session time."""
        sleep = getattr(context, "sleep", None)
        content: Any = prompt
        if image:
            url = image_url(image, getattr(context, "wearer", None) or "local")
            content = [{"type": "text", "text": prompt}, {"type": "image_url", "image_url": {"url": url}}]
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": content}]
        if schema:
            messages.insert(
                0,
                {
                    "role": "system",
                    "content": "Answer with JSON only, fitting this JSON Schema: "
                    + json.dumps(schema, ensure_ascii=False),
                },
            )
            message = await self.chat(messages, response_format={"type": "json_object"}, sleep=sleep)
            text = message.content or ""
            try:
                return json.loads(_unfenced(text))
            except ValueError:
                shown = " ".join(text.split())
                shown = shown if len(shown) <= 200 else shown[:200] + "..."
                raise LlmError("INVALID_OUTPUT", f"the answer is not JSON: {shown!r}") from None
        message = await self.chat(messages, sleep=sleep)
        return message.content

    async def _with_retries(self, call: Any, sleep: Callable[[int], Awaitable[None]] | None = None) -> Any:
        attempt = 0
        while True:
            try:
                return await call()
            except LlmError:
                raise
            except Exception as exc:
                error = _translate(exc)
                if self.settings.local and _refused(exc):  # no server on this port: retrying only adds seconds
                    raise LlmError("UNAVAILABLE", f"nothing is listening at {self.settings.base_url}") from None
                if not error.retryable or attempt >= self.settings.max_retries:
                    raise error from None
                wait = _retry_after(exc)
                seconds = wait if wait is not None else self.settings.backoff_s * (2**attempt)
                about = {"model": self.settings.model, "code": error.code, "attempt": attempt + 1, "wait_s": seconds}
                log.info("model call retried: %s", error.code, extra=about)
                await (sleep(int(seconds * 1000)) if sleep is not None else asyncio.sleep(seconds))
                attempt += 1


@dataclass
class _StreamedFunction:
    name: str
    arguments: str


class _StreamedCall:
    def __init__(self, call_id: str, name: str, arguments: str) -> None:
        self.id = call_id
        self.function = _StreamedFunction(name, arguments)


@dataclass
class _StreamedMessage:
    content: str | None
    tool_calls: list[_StreamedCall]


def image_url(image: str, wearer: str = "local") -> str:
    """What the model is sent for a photo: a URL as it is; the wearer's capture of that name, or a file from
    the files folder (never another wearer's captures), as a data URL (skills/files.py decides which)."""
    if image.startswith(URL_PREFIXES):
        return image
    try:
        data = read_allowed(image, None, MAX_IMAGE_BYTES, "image", wearer)
    except SkillError as exc:
        raise LlmError(exc.code, exc.message) from None
    kind = mimetypes.guess_type(Path(image).name)[0] or ""
    kind = kind if kind.startswith("image/") else "image/png"
    return f"data:{kind};base64,{base64.b64encode(data).decode()}"


def _unfenced(text: str) -> str:
    """JSON a model wrapped in a Markdown code fence, unwrapped (anything else as it is)."""
    stripped = text.strip()
    if stripped.startswith("```") and stripped.endswith("```") and "\n" in stripped:
        return stripped[stripped.index("\n") + 1 : -3]
    return text


async def close_clients() -> None:
    """Close every client whose connections belong to the running loop."""
    loop = asyncio.get_running_loop()
    for client in [c for c in list(_OPEN.values()) if c._loop is loop]:
        with contextlib.suppress(Exception):  # a connection the server already dropped: nothing left to free
            await client.aclose()


def run_closing(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, then tasks still pending cancelled and awaited, and model clients closed,
    while the loop is still there to do it (no "Task exception was never retrieved" at exit)."""

    # The result is handed back beside the loop, not as the main task's: on Python 3.11 `asyncio.run`
    # formats the finished task (its result included, through the result's full repr) while it puts the
    # Ctrl-C handler back, which for a simulation's trace took longer than the run.
    result: list[T] = []

    async def closing() -> None:
        try:
            result.append(await main)
        finally:
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await close_clients()

    asyncio.run(closing())
    return result[0]


def _refused(exc: BaseException) -> bool:
    """Whether a connection was refused somewhere down the chain of causes (openai -> httpx -> OSError)."""
    return any(isinstance(cause, ConnectionRefusedError) for cause in causes(exc))


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    try:
        return min(float(value), 30.0) if value is not None else None
    except ValueError:
        return None


def _translate(exc: Exception) -> LlmError:
    """The openai SDK's exceptions under the codes every provider uses (skills.errors); anything else
    the endpoint did is PROVIDER_ERROR."""
    failure = classify(exc)
    if failure is None:
        return LlmError("PROVIDER_ERROR", f"the model endpoint failed ({type(exc).__name__}: {exc})")
    return LlmError(failure.code, f"the model endpoint {failure.detail}", retryable=failure.retryable)
