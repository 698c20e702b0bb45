"""Online skills on Qwen through the OpenAI-compatible endpoint: translation (Qwen-MT), answers, image descriptions.

Translation uses a Qwen-MT model (`qwen-mt-turbo` by default, `LENSFLOW_MT_MODEL`)
with DashScope's `translation_options`; answers use the chat model, streamed;
image questions use a Qwen-VL model (`qwen-vl-plus`, `LENSFLOW_VL_MODEL`), the photo
sent as a data URL (a file from the captures or files folder only, see skills/files.py;
an http(s) or `data:image/` URL is passed on as it is). Provider errors arrive as the engine's codes (RATE_LIMITED,
TIMEOUT, BAD_REQUEST ...) so flows branch on them.
"""

from __future__ import annotations

import base64
import mimetypes
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.assistant.chat_model import LlmError
from engine.language.catalog import load_catalog
from skills.base import SkillError
from skills.files import MAX_IMAGE_BYTES, read_allowed, wearer_of
from skills.qwen.client import LlmSettings, QwenClient

__all__ = ["LANGUAGE_NAMES", "QwenSkills"]

LANGUAGE_NAMES = {
    "en": "English",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "it": "Italian",
    "ru": "Russian",
    "pt": "Portuguese",
    "ar": "Arabic",
    "th": "Thai",
    "vi": "Vietnamese",
}


def _client(model_env: str, default: str, settings: LlmSettings | None) -> QwenClient:
    base = settings or LlmSettings.from_env()
    return QwenClient(replace(base, model=os.environ.get(model_env, default)))


def _skill_error(exc: LlmError) -> SkillError:
    """The model client's failure under the vocabulary's name (its UNREACHABLE is UNAVAILABLE, and so on)."""
    return SkillError(load_catalog().errors.canonical(exc.code), exc.message)


class QwenSkills:
    def __init__(self, settings: LlmSettings | None = None) -> None:
        self.mt = _client("LENSFLOW_MT_MODEL", "qwen-mt-turbo", settings)
        self.chat = QwenClient(settings or LlmSettings.from_env())
        self.vl = _client("LENSFLOW_VL_MODEL", "qwen-vl-plus", settings)

    async def translate(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        text = str(args.get("text") or "")
        target = str(args.get("target") or "en")
        options = {
            "source_lang": LANGUAGE_NAMES.get(str(args.get("source") or ""), "auto"),
            "target_lang": LANGUAGE_NAMES.get(target.split("-")[0], target),
        }
        if args.get("domain"):
            options["domains"] = str(args["domain"])
        try:
            message = await self.mt.chat(
                [{"role": "user", "content": text}], extra_body={"translation_options": options}
            )
        except LlmError as exc:
            raise _skill_error(exc) from None
        return {"text": message.content or "", "source": text, "target": target}

    async def answer(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        question = str(args.get("question") or "")
        system = "You answer questions for someone wearing AI glasses: two short sentences at most, spoken aloud."
        emit = getattr(ctx, "emit", None) or (lambda name, data: None)
        text, spoken = "", 0
        messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
        try:
            async for piece in self.chat.stream(messages):
                text += piece
                emit("assistant.partial", {"text": text})  # the HUD follows the answer as it streams
                end = max(text.rfind(mark) for mark in ".!?。！？")
                if end >= spoken:  # a whole sentence is ready: it can be spoken already
                    emit("assistant.sentence", {"text": text[spoken : end + 1].strip()})
                    spoken = end + 1
        except LlmError as exc:
            raise _skill_error(exc) from None
        if text[spoken:].strip():
            emit("assistant.sentence", {"text": text[spoken:].strip()})
        return {"text": text}

    async def describe(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        image = str(args.get("image") or "")
        if not image.startswith(("http://", "https://", "data:image/")):  # a file: only one this device stored
            kind = mimetypes.guess_type(Path(image).name)[0] or "image/png"
            if not kind.startswith("image/"):
                kind = "image/png"
            data = read_allowed(image, None, MAX_IMAGE_BYTES, "image", wearer_of(ctx))
            image = f"data:{kind};base64,{base64.b64encode(data).decode()}"
        question = str(args.get("question") or "What is this? Answer in one or two short sentences.")
        content = [{"type": "image_url", "image_url": {"url": image}}, {"type": "text", "text": question}]
        try:
            message = await self.vl.chat([{"role": "user", "content": content}])
        except LlmError as exc:
            raise _skill_error(exc) from None
        return {"text": message.content or ""}
