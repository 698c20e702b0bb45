"""Every schema's `$id` is where the schema can be read for the release it ships in, and the references
between schemas resolve among the shipped files: editors can fetch a schema, the validator never does."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

from tests.support import ROOT

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
RAW = f"https://raw.githubusercontent.com/lensflow/lensflow/v{VERSION}/"
SCHEMAS = sorted((ROOT / "schemas").rglob("*.schema.json"))


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_id_is_the_raw_url_of_the_file_at_the_version_tag() -> None:
    assert len(SCHEMAS) >= 18
    for path in SCHEMAS:
        schema = json.loads(path.read_text(encoding="utf-8"))
        assert schema["$id"] == RAW + path.relative_to(ROOT).as_posix(), path


def test_references_between_schemas_resolve_to_shipped_files() -> None:
    documents = {}
    for path in SCHEMAS:
        schema = json.loads(path.read_text(encoding="utf-8"))
        documents[schema["$id"]] = schema
    between = 0
    for base, schema in documents.items():
        for ref in _refs(schema):
            if ref.startswith("#"):
                continue
            target, fragment = urldefrag(urljoin(base, ref))
            assert target in documents, f"{base}: $ref {ref} is not a shipped schema"
            node = documents[target]
            for part in filter(None, fragment.split("/")):
                node = node[part]
            between += 1
    assert between >= 3  # bridge frames (twice) and the flow tests' scenario entries


NO_NETWORK = """\
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("the validator tried to reach the network")
socket.socket.connect = refuse
socket.create_connection = refuse
from pathlib import Path
from devices.bridge.conformance import BridgeSchemas
from engine.checks.validate import validate_paths
from flowtests.cases import read_test_file
result = validate_paths(["flows"])
assert result.errors == 0, result.findings
assert read_test_file(Path("flows/tests/capture.yaml")).cases
BridgeSchemas.load().check({"type": "hello", "device": "x"}, "device")
print("checked offline")
"""


def test_the_validators_never_fetch_a_schema(tmp_path: Path) -> None:
    """With the network refused and an empty schema cache, every schema is compiled from the local files."""
    env = {"LENSFLOW_CACHE": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "checked offline" in proc.stdout, proc.stderr[-3000:]
    assert list(tmp_path.rglob("schema_*.bin"))  # compiled here, not read from an earlier run's cache
