"""What every command shares: exit codes, the one-line user error, the one way each command loads flows,
the one device-profile lookup, and the model settings built from flags and the environment."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:  # imported where used: fast commands load neither openai nor the catalogue up front
    from engine.language.catalog import DeviceProfile
    from skills.qwen.client import LlmSettings

from engine.errors import Location, UserError

__all__ = [
    "EXIT_OK",
    "EXIT_PROBLEMS",
    "EXIT_USAGE",
    "ROOT",
    "AssistantParts",
    "CliError",
    "assistant_parts",
    "configured_llm",
    "device_profile",
    "json_line",
    "llm_settings",
    "load_flows",
    "load_main_flow",
    "output_folder",
    "read_flow",
    "say_plugin_problems",
]

ROOT = Path(__file__).resolve().parent.parent

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class CliError(UserError):
    """A user error: printed as one line, exit code 2."""

    code = "USAGE"


def output_folder(name: str | Path) -> Path:
    """The folder a command writes into, created now: one that cannot be is a one-line error before any work."""
    out = Path(name)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"{name}: cannot create ({exc.strerror or exc})") from None
    return out


def read_flow(name: str) -> Any:
    """One flow file as a model; a file that cannot be read as a flow is a one-line error."""
    from engine.language.loader import load_flow

    path = Path(name)
    if not path.is_file():
        raise CliError(f"{name}: no such file")
    loaded = load_flow(path)
    if loaded.built is None:
        first = loaded.sink.findings[0]
        raise CliError(f"{first.message} [{first.rule}]", Location(first.file, first.line, first.column))
    return loaded.built.flow


def load_main_flow(path: Path) -> dict[str, Any]:
    """Compile the flow at `path` and the valid flows beside it (for call and link); main one as `__main__`."""
    from engine.runnable import NotRunnable, load_runnable

    try:
        compiled, main_id, warnings = load_runnable(path)
    except NotRunnable as exc:
        raise CliError(str(exc)) from None
    for line in warnings:  # design problems: worth knowing, but the flow can still be tried
        print(f"lensflow: warning: {line}", file=sys.stderr)
    compiled["__main__"] = compiled[main_id]
    return compiled


def json_line(entry: dict[str, Any]) -> None:
    from engine.jsonout import dumps

    try:
        print(dumps(entry), flush=True)
    except BrokenPipeError:  # the reader has gone (`| head`): the rest goes nowhere, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def configured_llm(settings: LlmSettings | None = None) -> Any:
    """The Qwen client for `llm` steps when an endpoint is configured, else None (steps fail cleanly)."""
    from skills.qwen.client import QwenClient

    settings = settings or llm_settings()
    return QwenClient(settings) if settings.configured else None


def load_flows(paths: list[str]) -> dict[str, Any]:
    """Compile every flow under `paths` that can run, by id; each one that cannot is named in one line and skipped."""
    from engine.checks.validate import UsageError
    from engine.runnable import load_all_runnable

    try:
        flows, skipped = load_all_runnable(paths)
    except UsageError as exc:
        raise CliError(str(exc)) from None
    for line in skipped:
        print(f"lensflow: skipped {line}", file=sys.stderr)
    if not flows:
        raise CliError(f"no runnable flow in {', '.join(paths)}; check them with `python cli.py validate`")
    return flows


def device_profile(name: str | None) -> DeviceProfile:
    """The device profile called `name` (None: the default); an unknown name is a one-line error listing the known."""
    from engine.language.catalog import UnknownProfile, load_catalog

    try:
        return load_catalog().named_profile(name)
    except UnknownProfile as exc:
        raise CliError(exc.message) from None


class AssistantParts(NamedTuple):
    """What every front door (serve, chat, mcp) gives the sessions it hosts."""

    router: Any  # Qwen first when configured, the two offline stages behind it
    skills: dict[str, Any]  # this device's: embedded, with the online ones that are configured
    llm: Any  # the model client, None when no endpoint is configured


def assistant_parts(flows: dict[str, Any], settings: LlmSettings, client: Any) -> AssistantParts:
    """The router, skills and model of a front door; the offline stages' models load now (warm-up), not
    on the first words a wearer says."""
    from skills.registry import skills_for_device
    from skills.understanding import understanding_router
    from skills.understanding.warm import warm_up

    router = understanding_router([c.flow for c in flows.values()], client)  # offline when no model is set up
    warm_up(router)
    parts = AssistantParts(router, skills_for_device(settings), client if settings.configured else None)
    say_plugin_problems()  # now, not when the server stops: the catalogue and plugin skills are loaded
    return parts


_PLUGIN_LINES_SAID: list[str] = []


def say_plugin_problems() -> None:
    """One line on stderr for each plugin left out and not said yet. Commands that run until stopped (serve,
    chat, mcp, drive) say them as they start; every command says the rest as it exits. Imports nothing: a
    command that never looked at plugins has none to say."""
    plugins = sys.modules.get("engine.language.plugins")
    for problem in plugins.reported() if plugins is not None else ():
        if problem not in _PLUGIN_LINES_SAID:
            _PLUGIN_LINES_SAID.append(problem)
            print(f"lensflow: warning: {problem}", file=sys.stderr, flush=True)


def llm_settings(args: argparse.Namespace | None = None) -> LlmSettings:
    """The model settings for this run: the LENSFLOW_LLM_* environment, with `--llm-url` / `--model` on top.

    Passed down as a value: the flags never leak into the process environment (and so into
    whatever else reads it later in the same process).
    """
    from dataclasses import replace

    from skills.qwen.client import LlmSettings

    settings = LlmSettings.from_env()
    if args is not None and getattr(args, "llm_url", None):
        settings = replace(settings, base_url=args.llm_url)
    if args is not None and getattr(args, "model", None):
        settings = replace(settings, model=args.model)
    return settings
