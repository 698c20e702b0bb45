"""The CLI in a fresh interpreter where some packages cannot be imported, as when their extra is not installed."""

from __future__ import annotations

import subprocess
import sys

from commands.distribution import EXTRA_OF_MODULE
from tests.support import ROOT

__all__ = ["EXTRA_PACKAGES", "run_without"]

EXTRA_PACKAGES = sorted({m.split(".")[0] for m in EXTRA_OF_MODULE})


def run_without(modules: list[str], args: list[str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`cli.py ARGS` with these modules unimportable (`sys.modules[name] = None`); prints which extras'
    packages got loaded as a last stderr line `LOADED [...]`."""
    code = (
        "import sys\n"
        f"for name in {modules!r}: sys.modules[name] = None\n"
        "import cli\n"
        "try:\n"
        f"    code = cli.main({args!r})\n"
        "finally:\n"
        f"    loaded = sorted({{m.split('.')[0] for m, v in sys.modules.items() if v}} & set({EXTRA_PACKAGES!r}))\n"
        "    print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=300
    )
