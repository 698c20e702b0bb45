"""The type check `make test` runs (`[tool.mypy]` in pyproject.toml) catches the bugs it is there for.

Each sample below is a small module with one kind of bug mypy's defaults let through; the
project's configuration must report it with its error code. The first is the bug that once
crashed the infinite-loop guard: a trace call passing `kind` twice, inside a function without
annotations (mypy skips such bodies unless `check_untyped_defs` is on).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

SAMPLES = {
    "keyword_twice": (
        "misc",
        '''
def trace(kind: str, **data: object) -> None:
    print(kind, data)


def step(steps):
    if steps > 3:
        trace("error", kind="error.loop")
''',
    ),
    "never_equal": (
        "comparison-overlap",
        '''
def is_done(code: int) -> bool:
    return code == "done"
''',
    ),
    "implicit_optional": (
        "assignment",
        '''
def greet(name: str = None) -> str:
    return "hi " + name
''',
    ),
    "stale_ignore": (
        "unused-ignore",
        '''
count: int = 1  # type: ignore[assignment]
''',
    ),
    "needless_cast": (
        "redundant-cast",
        '''
from typing import cast


def double(n: int) -> int:
    return cast(int, n) * 2
''',
    ),
}

# Listed third-party packages that ship no types are imported without an error.
UNTYPED_IMPORTS = '''
import cn2an
import yaml


def parse(text: str) -> object:
    return yaml.safe_load(text), cn2an.cn2an("一", "smart")
'''


def test_the_configured_type_check_reports_each_kind_of_bug(tmp_path: Path) -> None:
    for name, (_, source) in SAMPLES.items():
        (tmp_path / f"{name}.py").write_text(source.lstrip(), encoding="utf-8")
    (tmp_path / "untyped_imports.py").write_text(UNTYPED_IMPORTS.lstrip(), encoding="utf-8")
    config = ["--config-file", str(ROOT / "pyproject.toml"), "--no-warn-unused-configs"]
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", *config, "--cache-dir", str(tmp_path / "cache"), "--no-error-summary", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = re.finditer(r"^(?P<file>\w+)\.py:\d+: error: .*\[(?P<code>[\w-]+)\]$", proc.stdout, re.M)
    reported = {(m["file"], m["code"]) for m in errors}
    assert reported == {(name, code) for name, (code, _) in SAMPLES.items()}, proc.stdout
    assert 'gets multiple values for keyword argument "kind"' in proc.stdout
    assert proc.returncode == 1
