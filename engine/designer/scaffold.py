"""A new flow from the template, with its tests: what `lensflow new` and the studio's "New flow" write.

The files are rendered first and written only when none of them exists (unless `force`), so a refusal
leaves the folder as it was.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from engine.errors import UserError
from engine.language.catalog import SCHEMAS_DIR

__all__ = ["FLOW_ID", "FlowExists", "NotAFlowId", "check_flow_id", "new_flow_files", "write_new_flow"]

FLOW_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")
_CHECKOUT = SCHEMAS_DIR.parent


class NotAFlowId(UserError):
    code = "USAGE"


class FlowExists(UserError):
    code = "CONFLICT"


def check_flow_id(name: object) -> str:
    """`name` if it can be a flow id (and a file stem), else NotAFlowId with one line."""
    if not isinstance(name, str) or not FLOW_ID.fullmatch(name):
        shown = name if isinstance(name, str) and len(name) <= 80 else "that"
        raise NotAFlowId(f"'{shown}' is not a flow id: use lower case letters, digits and _ (e.g. show_note)")
    return name


def _schema_ref(schema: Path, folder: Path) -> str:
    """The modeline's schema: relative inside this checkout, else the absolute path of the installed one."""
    folder = folder.resolve()
    return os.path.relpath(schema, folder) if folder.is_relative_to(_CHECKOUT) else str(schema)


def new_flow_files(name: str, folder: Path) -> list[tuple[Path, str]]:
    """The flow `folder/NAME.yaml` and its test `folder/tests/NAME.yaml`, as (path, text), not written."""
    check_flow_id(name)
    templates = SCHEMAS_DIR / "templates"
    title = name.replace("_", " ").capitalize()
    values = {
        "__NAME__": name,
        "__TITLE__": title,
        "__PHRASE__": title.lower(),
        "__FLOW_SCHEMA__": _schema_ref(SCHEMAS_DIR / "flow.schema.json", folder),
        "__TEST_SCHEMA__": _schema_ref(SCHEMAS_DIR / "flow-test.schema.json", folder / "tests"),
    }
    out = []
    for template, target in (
        ("flow.yaml", folder / f"{name}.yaml"),
        ("flow_test.yaml", folder / "tests" / f"{name}.yaml"),
    ):
        text = (templates / template).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value)
        out.append((target, text))
    return out


def write_new_flow(name: str, folder: Path, force: bool = False) -> list[Path]:
    """Write the new flow and its test; FlowExists (nothing written) when one is there and not `force`."""
    files = new_flow_files(name, folder)
    existing = [path for path, _ in files if path.exists()]
    if existing and not force:
        raise FlowExists(f"{existing[0]} already exists")
    for path, text in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return [path for path, _ in files]
