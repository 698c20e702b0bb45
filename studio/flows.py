"""The flows a studio serves: files found under the paths it was given, addressed by flow id only.

Nothing a page sends ever becomes a path: a request names an id, and the id is looked up among the
files found here. Each file keeps the id it had when first seen (its `flow:` key, or its file stem
when it does not parse), so an edit of `flow:` does not move it under the page's feet.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engine.checks.validate import UsageError, expand_paths
from engine.errors import UserError
from engine.files import read_regular
from engine.language.yaml_reader import read_yaml

__all__ = ["Change", "FlowFile", "FlowSet", "SaveConflict", "version_of"]


class SaveConflict(UserError):
    """The file changed on disk since the version the page loaded: saving would lose someone's edit."""

    code = "CONFLICT"


def version_of(data: bytes) -> str:
    """A file's version: a short hash of its bytes (the same bytes, the same version, whatever the mtime)."""
    return hashlib.sha256(data).hexdigest()[:16]


@dataclass
class FlowFile:
    id: str
    path: Path
    title: str = ""
    version: str = ""
    stamp: tuple[int, int] = (0, 0)  # (mtime_ns, size) when `version` was taken: a cheap "did it change"

    @property
    def shown_path(self) -> str:
        """The path relative to the working folder when it is under it, else absolute."""
        try:
            return str(self.path.relative_to(Path.cwd()))
        except ValueError:
            return str(self.path)


@dataclass(frozen=True)
class Change:
    """What a poll saw: `kind` is changed, added or removed."""

    kind: str
    id: str
    version: str = ""

    def as_dict(self) -> dict[str, str]:
        out = {"type": self.kind, "id": self.id}
        if self.version:
            out["version"] = self.version
        return out


@dataclass
class FlowSet:
    """The served files by id; `poll()` compares them with the disk and says what changed."""

    paths: list[str]
    files: dict[str, FlowFile] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.poll()

    def get(self, flow_id: str) -> FlowFile | None:
        return self.files.get(flow_id)

    def read(self, flow: FlowFile) -> bytes:
        """The file's bytes now. Its known version is left to `poll`, so a change read here is still announced."""
        return read_regular(flow.path)

    def save(self, flow: FlowFile, text: str, expected: str) -> str:
        """Write `text` if the file is still at version `expected`; returns the new version.

        The bytes go to a temporary file beside it, then replace it in one step: a crash or a full disk
        leaves the old file whole, never half a flow.
        """
        try:
            current = version_of(read_regular(flow.path))
        except OSError:
            current = ""
        if current != expected:
            raise SaveConflict(f"{flow.shown_path} changed on disk since it was loaded: reload it, then save again")
        data = text.encode("utf-8")
        fd, temp = tempfile.mkstemp(prefix=f".{flow.path.name}.", suffix=".tmp", dir=flow.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            if flow.path.exists():
                os.chmod(temp, flow.path.stat().st_mode & 0o777)
            os.replace(temp, flow.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        flow.version = version_of(data)
        flow.stamp = _stamp(flow.path)
        flow.title = _text(_document(data), "title") or flow.title
        return flow.version

    def poll(self) -> list[Change]:
        """Look at the disk again: every file whose bytes changed, appeared or went away since the last poll."""
        try:
            found = [p.resolve() for p in expand_paths(self.paths)]
        except UsageError:  # a served folder went away: its files are removed, nothing else
            found = []
        known = {f.path: f for f in self.files.values()}
        changes: list[Change] = []
        for path in found:
            flow = known.pop(path, None)
            stamp = _stamp(path)
            if flow is not None and stamp == flow.stamp:
                continue
            try:
                data = read_regular(path)
            except OSError:
                continue
            doc = _document(data)
            if flow is None:
                flow = FlowFile(self._new_id(path, _text(doc, "flow")), path)
                self.files[flow.id] = flow
                changes.append(Change("added", flow.id, version_of(data)))
            elif version_of(data) != flow.version:
                changes.append(Change("changed", flow.id, version_of(data)))
            flow.version, flow.stamp = version_of(data), stamp
            flow.title = _text(doc, "title") or flow.title
        for gone in known.values():
            del self.files[gone.id]
            changes.append(Change("removed", gone.id))
        return changes

    def _new_id(self, path: Path, declared: str) -> str:
        """The file's `flow:` id, else its stem; a second file with a taken id is told apart by its stem."""
        wanted = declared or path.stem
        for candidate in (wanted, path.stem, f"{path.parent.name}.{path.stem}"):
            if candidate not in self.files:
                return candidate
        n = 2
        while f"{wanted}~{n}" in self.files:
            n += 1
        return f"{wanted}~{n}"


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def _document(data: bytes) -> dict[str, object]:
    try:
        doc = read_yaml(data, "").data
    except Exception:  # a file that does not parse is listed by its stem, with its findings
        return {}
    return doc if isinstance(doc, dict) else {}


def _text(doc: dict[str, object], key: str) -> str:
    value = doc.get(key)
    return value if isinstance(value, str) else ""
