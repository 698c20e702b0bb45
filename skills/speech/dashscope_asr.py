"""DashScope realtime speech recognition (Paraformer) over its WebSocket protocol.

    -> {"header": {"action": "run-task", "task_id", "streaming": "duplex"},
        "payload": {"task_group": "audio", "task": "asr", "function": "recognition",
                    "model": "paraformer-realtime-v2", "parameters": {"format": "pcm", "sample_rate": 16000,
                    "language_hints": ["zh", "en"]}, "input": {}}}
    <- {"header": {"event": "task-started"}}
    -> binary PCM frames
    <- {"header": {"event": "result-generated"}, "payload": {"output": {"sentence":
           {"begin_time", "end_time", "text", "sentence_end", "speaker_id"?}}}}
    -> {"header": {"action": "finish-task", ...}}
    <- {"header": {"event": "task-finished"}}  or  {"header": {"event": "task-failed", "error_code", "error_message"}}

Final sentences come out as segments (`text`, `start_ms`, `end_ms`, `speaker`, `is_final`);
a `task-failed` becomes `SkillError("PROVIDER_ERROR", "<error_code>: <error_message>")`.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from skills.base import SkillError
from skills.errors import map_exceptions
from skills.files import open_allowed, wearer_of

__all__ = ["DEFAULT_URL", "FRAME_BYTES", "MAX_AUDIO_BYTES", "DashScopePcmRecognizer", "DashScopeRecognizer"]

DEFAULT_URL = "wss://dashscope.aliyuncs.com/api-ws/v1/inference/"
FRAME_BYTES = 3200  # 100 ms of 16 kHz 16-bit mono
MAX_AUDIO_BYTES = 64 << 20  # 35 minutes of 16 kHz 16-bit mono


class DashScopeRecognizer:
    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        model: str = "paraformer-realtime-v2",
        timeout_s: float = 30.0,
    ) -> None:
        self.url = url or os.environ.get("LENSFLOW_ASR_URL", DEFAULT_URL)
        self.api_key = api_key or os.environ.get("DASHSCOPE_API_KEY")
        self.model = model
        self.timeout_s = timeout_s

    async def stream(
        self, frames: Iterable[bytes], language_hints: list[str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Send PCM frames, yield final sentences as they are recognised."""
        from websockets.asyncio.client import connect

        if not self.api_key and not self.url.startswith(("ws://127.", "ws://localhost")):
            raise SkillError("CONFIG", "DASHSCOPE_API_KEY is not set")
        task_id = uuid.uuid4().hex
        headers = {"Authorization": f"bearer {self.api_key or 'local'}"}
        with map_exceptions("the recognition service"):
            async with connect(self.url, additional_headers=headers, open_timeout=self.timeout_s) as ws:
                await ws.send(
                    json.dumps(
                        {
                            "header": {"action": "run-task", "task_id": task_id, "streaming": "duplex"},
                            "payload": {
                                "task_group": "audio",
                                "task": "asr",
                                "function": "recognition",
                                "model": self.model,
                                "parameters": {
                                    "format": "pcm",
                                    "sample_rate": 16000,
                                    "language_hints": language_hints or ["zh", "en"],
                                },
                                "input": {},
                            },
                        }
                    )
                )
                started = _message(await asyncio.wait_for(ws.recv(), self.timeout_s))
                self._raise_if_failed(started)
                for frame in frames:
                    await ws.send(frame)
                await ws.send(
                    json.dumps(
                        {
                            "header": {"action": "finish-task", "task_id": task_id, "streaming": "duplex"},
                            "payload": {"input": {}},
                        }
                    )
                )
                while True:
                    message = _message(await asyncio.wait_for(ws.recv(), self.timeout_s))
                    self._raise_if_failed(message)
                    event = message.get("header", {}).get("event")
                    if event == "task-finished":
                        return
                    sentence = ((message.get("payload") or {}).get("output") or {}).get("sentence") or {}
                    if event == "result-generated" and sentence.get("sentence_end"):
                        yield {
                            "text": sentence.get("text", ""),
                            "start_ms": sentence.get("begin_time"),
                            "end_ms": sentence.get("end_time"),
                            "speaker": sentence.get("speaker_id"),
                            "is_final": True,
                        }

    @staticmethod
    def _raise_if_failed(message: dict[str, Any]) -> None:
        header = message.get("header", {})
        if header.get("event") == "task-failed":
            # the service's own codes are not the flows' vocabulary: they travel in the message
            code = str(header.get("error_code") or "task-failed")
            raise SkillError("PROVIDER_ERROR", f"{code}: {header.get('error_message') or 'recognition failed'}")

    async def transcribe(self, args: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """The `asr.transcribe` skill: a 16 kHz mono WAV file to text and timed segments."""
        frames = _wav_frames(str(args.get("audio") or ""), wearer_of(ctx))
        hints = [str(args["lang"])] if args.get("lang") else None
        segments = [segment async for segment in self.stream(frames, hints)]
        return {"text": " ".join(s["text"] for s in segments).strip(), "segments": segments, "lang": args.get("lang")}


def _message(text: str | bytes) -> dict[str, Any]:
    """One protocol message: a JSON object (JSONDecodeError otherwise, which the boundary names)."""
    message = json.loads(text)
    if not isinstance(message, dict):
        raise SkillError("PROVIDER_ERROR", "the recognition service answered with an unexpected shape")
    return message


def _wav_frames(name: str, wearer: str = "local") -> list[bytes]:
    """The PCM of a recording in the wearer's captures or the files folder (skills/files.py), in streaming frames."""
    import wave

    try:
        with open_allowed(name, None, MAX_AUDIO_BYTES, "audio", wearer) as handle, wave.open(handle, "rb") as wav:
            if (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) != (16_000, 1, 2):
                raise SkillError("BAD_REQUEST", f"{name}: realtime recognition takes 16 kHz mono 16-bit audio")
            pcm = wav.readframes(wav.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise SkillError("BAD_REQUEST", f"cannot read audio {name}: {exc}") from None
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


class DashScopePcmRecognizer:
    """The bridge's recogniser interface (`recognize_pcm`, called on a worker thread) on DashScope."""

    def __init__(self, recognizer: DashScopeRecognizer | None = None) -> None:
        self.recognizer = recognizer or DashScopeRecognizer()

    def recognize_pcm(self, pcm: bytes) -> str:
        frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]

        async def collect() -> str:
            return " ".join([s["text"] async for s in self.recognizer.stream(frames)]).strip()

        return asyncio.run(collect())  # a worker thread has no running loop of its own
