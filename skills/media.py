"""Photos and videos saved with time and location metadata, refused when storage is full."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

from skills.base import SkillError, data_dir

MIN_FREE_BYTES = 50 << 20


async def save(args: dict[str, Any], ctx: Any) -> dict[str, Any]:
    source = Path(str(args.get("file") or ""))
    if not source.is_file():
        raise SkillError("NOT_FOUND", f"nothing to save at {source}")
    target_dir = data_dir("media")
    free = shutil.disk_usage(target_dir).free
    if free < MIN_FREE_BYTES + source.stat().st_size:
        raise SkillError("STORAGE_FULL", f"only {free >> 20} MB free")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{args.get('kind', 'photo')}-{stamp}-{ctx.session_id}{source.suffix}"
    shutil.copyfile(source, target)
    meta = {
        "kind": args.get("kind", "photo"),
        "taken": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "location": args.get("location"),
        "source": str(source),
    }
    target.with_suffix(target.suffix + ".json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return {"path": str(target), "bytes": target.stat().st_size}
