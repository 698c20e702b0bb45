"""Photos and videos saved with time and location metadata, refused when storage is full.

Only what the wearer's device stored (their captures, in whichever store holds them)
or the files folder can be saved, into the wearer's own `<data>/media/<wearer>`
folder: any other name is FILE_NOT_ALLOWED (skills/files.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from engine.media import check_wearer
from skills.base import SkillError, data_dir
from skills.files import open_allowed, wearer_of

__all__ = ["MAX_MEDIA_BYTES", "MIN_FREE_BYTES", "save"]

MIN_FREE_BYTES = 50 << 20
MAX_MEDIA_BYTES = 4 << 30  # a long 4K recording; the captures folder holds what the camera took


async def save(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    name = str(args.get("file") or "")
    kind = "video" if args.get("kind") == "video" else "photo"  # part of a file name: never taken as given
    wearer = wearer_of(ctx)
    with open_allowed(name, None, MAX_MEDIA_BYTES, kind, wearer) as handle:
        source = Path(name)
        size = handle.seek(0, os.SEEK_END)  # a capture file or a database row's bytes: both can seek
        handle.seek(0)
        target_dir = data_dir("media", check_wearer(wearer))
        free = shutil.disk_usage(target_dir).free
        if free < MIN_FREE_BYTES + size:
            raise SkillError("STORAGE_FULL", f"only {free >> 20} MB free")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        session = re.sub(r"[^A-Za-z0-9_-]", "_", str(ctx.session_id))[:64]
        suffix = source.suffix if re.fullmatch(r"\.[A-Za-z0-9]{1,8}", source.suffix) else ""
        target = target_dir / f"{kind}-{stamp}-{session}{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(handle, out)
    meta = {
        "kind": kind,
        "taken": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "location": args.get("location"),
        "source": name,
    }
    target.with_suffix(target.suffix + ".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return {"path": str(target), "bytes": target.stat().st_size}
