"""`save_test`: a live simulation written as a flow test case, beside the flows it serves.

The case replays what the page did (studio/recording.py) and asserts what happened. It goes into
`tests/<flow>.yaml` next to the flow's file, appended to the file of that flow or in a new one, and
its photos into `tests/media/`. Nothing the page sends becomes a path: the file is named by the flow's
id, the photos by the case's name made into a slug, and the name itself is a sentence of plain
characters. Each file is written to a temporary file beside it, checked as `lensflow test` reads it,
then moved over the old one (`os.replace`): a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

from engine.designer.diagram_shared import format_ms
from engine.files import read_regular
from engine.language.catalog import load_catalog
from engine.language.yaml_reader import read_yaml
from flowtests.cases import FlowIndex, TestFileError, read_test_file
from flowtests.checks import Observed
from studio.flows import FlowFile
from studio.simulation import LiveSimulation

__all__ = ["MAX_NAME", "TestRefused", "save_test", "save_test_message"]

MAX_NAME = 120
NAME = re.compile(r"[^\W_][\w ,.'()!?:;+&%#-]*")  # a sentence: words, spaces and plain punctuation
FLOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
DEFAULT_PROFILE = "quark-display"
NAME_RULE = (
    f"a test name is 1 to {MAX_NAME} characters: letters, digits, spaces and , . ' ( ) ! ? : ; + & % # -, "
    "starting with a letter or digit"
)
_WRITING = threading.Lock()  # two sockets saving into one file take turns


class TestRefused(Exception):
    """The case cannot be saved: one line saying why."""


def save_test_message(sim: LiveSimulation, flow: FlowFile, message: dict[str, Any]) -> dict[str, Any]:
    """The answer to `{"type": "save_test", "name"}`: `test_saved`, or one `error` line."""
    try:
        return save_test(sim, flow, message.get("name"))
    except TestRefused as exc:
        return {"type": "error", "message": str(exc)}
    except OSError as exc:
        return {"type": "error", "message": f"the test could not be written: {exc.strerror or exc}"}


def save_test(sim: LiveSimulation, flow: FlowFile, name: Any) -> dict[str, Any]:
    """Write the run so far as a case named `name`; the `test_saved` answer (file, case, counts, ms).
    The simulation may run unsaved text: the case runs against the saved file, and the answer says so."""
    began = time.perf_counter()
    name = _checked_name(name)
    recording = sim.recording
    if not recording.started:
        raise TestRefused("nothing to save yet: start the simulation first")
    if recording.overflow:
        raise TestRefused("this run is too long to replay as a test: restart it and save a shorter one")
    flow_id = sim.main_id
    if not FLOW_ID.fullmatch(flow_id):
        raise TestRefused(f"flow id {flow_id[:60]!r} cannot name a test file: use letters, digits, _ and -")
    folder = flow.path.parent / "tests"
    target = folder / f"{flow_id}.yaml"
    with _WRITING:
        existing = _existing(target, flow_id, name)
        photos = _save_photos(recording.inputs, folder / "media", f"{flow_id}-{_slug(name)}")
        case = _case(sim, name, photos)
        text = _appended(existing, flow_id, case)
        _write_checked(target, text)
    try:
        unsaved = read_regular(flow.path).decode("utf-8", "replace") != recording.source
    except OSError:
        unsaved = True
    return {
        "type": "test_saved",
        "file": _shown(target),
        "case": name,
        "index": len(existing[1]) + 1 if existing else 1,
        "inputs": len(case.get("events") or []),
        "assertions": len(case["expect"]),
        "photos": [_shown(folder / p) for p in photos.values()],
        "unsaved": unsaved,
        "ms": round((time.perf_counter() - began) * 1000, 1),
    }


def _checked_name(name: Any) -> str:
    if not isinstance(name, str):
        raise TestRefused(NAME_RULE)
    name = " ".join(name.split())
    if not 0 < len(name) <= MAX_NAME or not NAME.fullmatch(name):
        raise TestRefused(NAME_RULE)
    return name


def _existing(target: Path, flow_id: str, name: str) -> tuple[str, list[Any]] | None:
    """(the file's text, its cases) when `target` exists and tests `flow_id`; refused when it cannot take the case."""
    shown = _shown(target)
    try:
        raw = read_regular(target)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise TestRefused(f"{shown} cannot be read: {exc.strerror or exc}") from None
    try:
        data = read_yaml(raw, str(target)).data
    except Exception as exc:  # the reader's own refusal (syntax, limits), worded by it
        raise TestRefused(f"{shown} is not a readable test file: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        raise TestRefused(f"{shown} has no `tests:` list to add the case to")
    if data.get("flow") != flow_id:
        raise TestRefused(f"{shown} tests flow {str(data.get('flow'))[:60]!r}, not {flow_id!r}: rename or move it")
    names = {" ".join(str(c.get("name", "")).split()).casefold() for c in data["tests"] if isinstance(c, dict)}
    if name.casefold() in names:
        raise TestRefused(f"{shown} already has a test named {name!r}: choose another name")
    return raw.decode("utf-8-sig"), data["tests"]


def _case(sim: LiveSimulation, name: str, photos: dict[Path, str]) -> dict[str, Any]:
    recording = sim.recording
    runner = sim.session.runner
    end = runner.end_state() if runner.stack else {}
    observed = Observed(sim.main_id, recording.kept, list(sim.device.log), dict(end), {})
    case: dict[str, Any] = {"name": name}
    if sim.profile.id != DEFAULT_PROFILE:
        case["profile"] = sim.profile.id
    events = recording.events(photos)
    if any("say" in e for e in events):
        case["needs"] = ["offline-models"]  # the words may route by meaning, as the studio's router did
    if events:
        case["events"] = events
    case["until"] = format_ms(sim.now())  # the clock as the page left it: no timer fires that it did not see
    confirmed = frozenset(k for k, v in load_catalog().skills.items() if v.get("confirm"))
    case["expect"] = recording.expectations(observed, confirmed)
    return case


def _save_photos(inputs: list[Any], media: Path, stem: str) -> dict[Path, str]:
    """Each photo the page dropped in, copied to `media/` under a new name; {its file: path from tests/}."""
    out: dict[Path, str] = {}
    for item in inputs:
        if item.photo is None or item.photo in out:
            continue
        media.mkdir(parents=True, exist_ok=True)
        n = len(out) + 1
        target = media / f"{stem}-{n}{item.photo.suffix}"
        while target.exists():
            n += 1
            target = media / f"{stem}-{n}{item.photo.suffix}"
        _write_atomic(target, item.photo.read_bytes())
        out[item.photo] = f"media/{target.name}"
    return out


def _appended(existing: tuple[str, list[Any]] | None, flow_id: str, case: dict[str, Any]) -> str:
    """The test file's text with `case` added at the end of its `tests:` (comments kept), or a new file."""
    block = _block(case)
    if existing is None:
        return f"flow: {flow_id}\ntests:\n" + _indented(block, "  ")
    text = existing[0]
    document = _load(text)  # the file passed the project's reader (size, depth, aliases) in `_existing`
    indent = re.search(r"^tests:[ \t]*\n(?:[ \t]*(?:#.*)?\n)*([ \t]*)- ", text, re.MULTILINE)
    if indent is not None:
        added = text.rstrip("\n") + "\n\n" + _indented(block, indent.group(1))
        if _load(added) == {**document, "tests": [*document["tests"], case]}:
            return added
    # the list is not the file's last block (or is written inline): write the whole document again
    document["tests"] = [*document["tests"], case]
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)


def _block(case: dict[str, Any]) -> str:
    """`case` as a list item in the shipped tests' style: one line per event and per assertion."""
    lines = []
    for key, value in case.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            lines.append(f"{key}:")
            lines += [f"  - {_one_line(v)}" for v in value]
        else:
            lines.append(f"{key}: {_flow(value)}")
    return "- " + "\n  ".join(lines) + "\n"


def _one_line(item: dict[str, Any]) -> str:
    """`{at: 1s, gesture: tap}`, and a one-key assertion as `hud_shows: Recording`."""
    if len(item) == 1:
        (key, value), *_ = item.items()
        return f"{_flow(key)}: {_flow(value)}"
    return _flow(item)


def _flow(value: Any) -> str:
    """`value` in YAML's flow style on one line (quoted where YAML needs it)."""
    return yaml.safe_dump([value], default_flow_style=True, allow_unicode=True, width=1 << 20).strip()[1:-1]


def _load(text: str) -> Any:
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader


def _indented(block: str, indent: str) -> str:
    return "".join(indent + line if line.strip() else line for line in block.splitlines(keepends=True))


def _write_checked(target: Path, text: str) -> None:
    """Write `text` over `target` in one step, once `lensflow test` can read it (schema, flow found)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = _temporary(target, text.encode("utf-8"))
    try:
        read_test_file(temp, FlowIndex())
        os.replace(temp, target)
    except TestFileError as exc:
        temp.unlink(missing_ok=True)
        raise TestRefused(f"the case would not be a valid test: {exc.message}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_atomic(target: Path, data: bytes) -> None:
    os.replace(_temporary(target, data), target)


def _temporary(target: Path, data: bytes) -> Path:
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return Path(temp)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-")[:40].strip("-") or "case"


def _shown(path: Path) -> str:
    """`path` relative to the working folder when under it (as `GET /api/flows` shows files)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
