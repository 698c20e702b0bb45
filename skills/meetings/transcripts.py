"""Meeting transcripts that survive a crash: every final segment is committed to the database at once.

A transcript belongs to the wearer who started it and the session it was started
in. Its metadata (title, language, start) is one row of `transcripts`, each final
segment (text, start/end ms, speaker, language) one row of `transcript_segments`,
committed before `append` returns (engine/storage.py: SQLite
`<data>/transcripts.sqlite` embedded, PostgreSQL when `LENSFLOW_DB` is a
postgresql:// URL). If the process dies, everything appended so far is kept;
`stop` reads it back, and `export` writes Markdown and JSON (with a summary when
one is given) into the wearer's `<data>/transcripts/<wearer>/` folder.

Every read and write is for the calling wearer (`ctx.wearer`): another wearer's
transcript id is NOT_FOUND, exactly as an id that never existed.

Appends are idempotent: each segment has an id (`segment`, or one made from its
start, end, speaker and text), and a segment already saved is not saved again.
A sentence delivered twice (an event replayed after a crash, because the
session was checkpointed before it) is saved once.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from engine.media import MediaRefused, check_wearer
from engine.settings import SettingsError
from engine.storage import Database, open_database
from skills.base import SkillError, data_dir
from skills.files import wearer_of

__all__ = ["TranscriptStore", "append", "export", "read_segments", "segment_id", "start", "stop"]

_ID = re.compile(r"[A-Za-z0-9_.:-]{1,80}")


class TranscriptStore:
    """Transcripts by wearer in one database: `path` a SQLite file, `url` a database URL, neither the default."""

    def __init__(self, path: Path | None = None, url: str | None = None) -> None:
        try:
            self.db: Database = open_database(url, path or data_dir() / "transcripts.sqlite")
        except SettingsError as exc:
            raise SkillError("CONFIG", str(exc)) from None
        self.db.ensure_table(
            "transcripts",
            {"wearer": "text not null", "id": "text not null", "session": "text not null", "meta": "text not null"},
            {"transcripts_owner": "unique (wearer, id)"},
        )
        self.db.ensure_table(
            "transcript_segments",
            {
                "wearer": "text not null",
                "transcript": "text not null",
                "seq": "integer not null",
                "segment": "text",
                "record": "text not null",
            },
            {
                "transcript_segments_once": "unique (wearer, transcript, segment)",
                "transcript_segments_order": "(wearer, transcript, seq)",
            },
        )

    def create(self, wearer: str, session: str, meta: dict[str, Any]) -> str:
        """A new transcript's id (`<session>-<ms>`, unique for the wearer)."""
        base = f"{re.sub(r'[^A-Za-z0-9_.-]', '_', session)[:60] or 'meeting'}-{int(time.time() * 1000)}"
        with self.db.transaction() as db:
            for n in range(1, 1000):
                transcript_id = base if n == 1 else f"{base}-{n}"
                record = json.dumps({**meta, "kind": "meta", "id": transcript_id}, ensure_ascii=False)
                if db.execute(
                    "insert into transcripts (wearer, id, session, meta) values (?, ?, ?, ?) on conflict do nothing",
                    (wearer, transcript_id, session, record),
                ):
                    return transcript_id
        raise SkillError("BAD_REQUEST", "too many transcripts started at once")

    def add(
        self, wearer: str, transcript_id: str, segment: str | None, record: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Save one segment unless its id is already saved (`record` None: only count); `count` and `repeated`."""
        with self.db.transaction() as db:
            if db.fetchone("select 1 from transcripts where wearer = ? and id = ?", (wearer, transcript_id)) is None:
                raise SkillError("NOT_FOUND", f"no transcript '{transcript_id}'")
            where = "wearer = ? and transcript = ?"
            (count,) = db.fetchone(f"select count(*) from transcript_segments where {where}", (wearer, transcript_id))
            seen = segment is not None and db.fetchone(
                f"select 1 from transcript_segments where {where} and segment = ?", (wearer, transcript_id, segment)
            )
            if seen:
                return {"count": int(count), "repeated": True}
            if record is None:
                return {"count": int(count)}
            db.execute(
                "insert into transcript_segments (wearer, transcript, seq, segment, record) values (?, ?, ?, ?, ?)",
                (wearer, transcript_id, int(count) + 1, segment, json.dumps(record, ensure_ascii=False)),
            )
        return {"count": int(count) + 1}

    def read(self, wearer: str, transcript_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The metadata and the segments, in the order they were saved; NOT_FOUND for another wearer's id."""
        with self.db.transaction() as db:
            meta = db.fetchone("select meta from transcripts where wearer = ? and id = ?", (wearer, transcript_id))
            rows = db.fetchall(
                "select record from transcript_segments where wearer = ? and transcript = ? order by seq",
                (wearer, transcript_id),
            )
        if meta is None:
            raise SkillError("NOT_FOUND", f"no transcript '{transcript_id}'")
        return json.loads(meta[0]), [json.loads(row[0]) for row in rows]


def _checked_id(transcript_id: Any) -> str:
    text = str(transcript_id)
    if not _ID.fullmatch(text):
        raise SkillError("BAD_REQUEST", f"'{text}' is not a transcript id")
    return text


def _wearer(ctx: Any) -> str:
    try:
        return check_wearer(wearer_of(ctx))
    except MediaRefused as exc:
        raise SkillError("BAD_REQUEST", exc.message) from None


def read_segments(
    transcript_id: str, wearer: str = "local", store: TranscriptStore | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A wearer's transcript: its metadata and its segments."""
    return (store or TranscriptStore()).read(wearer, _checked_id(transcript_id))


async def start(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    wearer = _wearer(ctx)
    meta = {
        "title": args.get("title") or "Meeting",
        "lang": args.get("lang"),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    transcript_id = TranscriptStore().create(wearer, str(getattr(ctx, "session_id", "") or ""), meta)
    return {"id": transcript_id, "path": str(data_dir("transcripts", wearer))}


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
    segment = segment_id(args)
    record = {
        "kind": "segment",
        "segment": segment,
        "text": text,
        "start_ms": args.get("start_ms"),
        "end_ms": args.get("end_ms"),
        "speaker": args.get("speaker"),
        "lang": args.get("lang"),
    }
    return TranscriptStore().add(_wearer(ctx), _checked_id(args.get("id")), segment, record if text else None)


async def stop(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    meta, segments = read_segments(str(args.get("id")), _wearer(ctx))
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
    wearer = _wearer(ctx)
    transcript_id = _checked_id(args.get("id"))
    meta, segments = read_segments(transcript_id, wearer)
    summary = args.get("summary")
    formats = args.get("formats") or ["markdown", "json"]
    folder, name = data_dir("transcripts", wearer), transcript_id.replace(":", "_")
    files = []
    if "json" in formats:
        target = folder / f"{name}.json"
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
        target = folder / f"{name}.md"
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(str(target))
    return {"files": files}
