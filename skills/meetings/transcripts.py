"""Meeting transcripts that survive a crash: every final segment is appended and synced to disk at once.

A transcript is a JSON-lines file (`<data>/transcripts/<id>.jsonl`): one line of
metadata, then one line per segment (text, start/end ms, speaker, language). If
the process dies, everything appended so far is on disk; `stop` reads it back,
and `export` writes Markdown and JSON (with a summary when one is given).

Appends are idempotent: each segment has an id (`segment`, or one made from its
start, end, speaker and text), and a segment already in the file is not written
again. A sentence delivered twice (an event replayed after a crash, because the
session was checkpointed before it) is saved once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from skills.base import SkillError, data_dir

__all__ = ["append", "export", "read_segments", "segment_id", "start", "stop"]


def _path(transcript_id: str) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9_.:-]{1,80}", transcript_id):
        raise SkillError("BAD_REQUEST", f"'{transcript_id}' is not a transcript id")
    return data_dir("transcripts") / f"{transcript_id.replace(':', '_')}.jsonl"


def _append(path: Path, record: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())  # a crash right after this loses nothing


def read_segments(transcript_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    path = _path(transcript_id)
    if not path.exists():
        raise SkillError("NOT_FOUND", f"no transcript '{transcript_id}'")
    meta: dict[str, Any] = {}
    segments = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash mid-write
        if record.get("kind") == "meta":
            meta = record
        elif record.get("kind") == "segment":
            segments.append(record)
    return meta, segments


async def start(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    transcript_id = f"{ctx.session_id}-{int(time.time() * 1000)}"
    path = _path(transcript_id)
    _append(
        path,
        {
            "kind": "meta",
            "id": transcript_id,
            "title": args.get("title") or "Meeting",
            "lang": args.get("lang"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    return {"id": transcript_id, "path": str(path)}


def segment_id(args: dict[str, Any]) -> str | None:
    """The segment's identity: given by the recogniser, or its timing, speaker and text.

    Without timing, two identical sentences cannot be told from one delivered twice,
    so such a segment has no id and is always kept (losing speech is worse than repeating it).
    """
    if args.get("segment"):
        return str(args["segment"])[:128]
    start, end = args.get("start_ms") or 0, args.get("end_ms") or 0
    if not start and not end:
        return None
    text = str(args.get("text") or "").strip()
    digest = hashlib.sha256(f"{start}|{end}|{args.get('speaker') or ''}|{text}".encode()).hexdigest()[:20]
    return f"t{start}-{end}-{digest}"


async def append(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    text = str(args.get("text") or "").strip()
    path = _path(str(args["id"]))
    if not path.exists():
        raise SkillError("NOT_FOUND", f"no transcript '{args['id']}'")
    segment = segment_id(args)
    _, segments = read_segments(str(args["id"]))
    if segment is not None and any(s.get("segment") == segment for s in segments):
        return {"count": len(segments), "repeated": True}
    if text:
        _append(
            path,
            {
                "kind": "segment",
                "segment": segment,
                "text": text,
                "start_ms": args.get("start_ms"),
                "end_ms": args.get("end_ms"),
                "speaker": args.get("speaker"),
                "lang": args.get("lang"),
            },
        )
        return {"count": len(segments) + 1}
    return {"count": len(segments)}


async def stop(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    meta, segments = read_segments(str(args["id"]))
    return {
        "id": args["id"],
        "title": meta.get("title"),
        "segments": segments,
        "text": "\n".join(s["text"] for s in segments),
    }


def _clock(ms: Any) -> str:
    if not isinstance(ms, (int, float)):
        return "--:--"
    seconds = int(ms) // 1000
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


async def export(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    transcript_id = str(args["id"])
    meta, segments = read_segments(transcript_id)
    summary = args.get("summary")
    formats = args.get("formats") or ["markdown", "json"]
    base = _path(transcript_id).with_suffix("")
    files = []
    if "json" in formats:
        target = base.with_suffix(".json")
        target.write_text(
            json.dumps({"meta": meta, "summary": summary, "segments": segments}, ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        files.append(str(target))
    if "markdown" in formats:
        lines = [f"# {meta.get('title') or 'Meeting'}", "", f"Started {meta.get('started', '')}", ""]
        if isinstance(summary, dict):
            if summary.get("extractive"):
                lines += ["_Extractive summary: sentences picked from the transcript, no model was used._", ""]
            lines += ["## Summary", "", str(summary.get("summary", "")), ""]
            for key, title in (("decisions", "Decisions"), ("action_items", "Action items")):
                if summary.get(key):
                    lines += [f"## {title}", ""] + [f"- {item}" for item in summary[key]] + [""]
        elif summary:
            lines += ["## Summary", "", str(summary), ""]
        lines += ["## Transcript", ""]
        for s in segments:
            who = f"**{s['speaker']}** " if s.get("speaker") else ""
            lines.append(f"- `{_clock(s.get('start_ms'))}` {who}{s['text']}")
        target = base.with_suffix(".md")
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(target))
    return {"files": files}
