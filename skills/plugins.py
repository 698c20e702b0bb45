"""The implementations of plugin skills (entry point group `lensflow.skills`), loaded when skills are about to run.

The catalogue (engine/language/plugins.py) has already read each plugin's `catalog.json` without running its
code; here the entry point itself is loaded: a mapping of skill name to async callable `(args, ctx)`, or a
function taking nothing that returns one. A plugin whose catalogue was refused is not loaded at all; one whose
code fails to import, or whose mapping does not match its catalogue name for name, is left out whole and
reported in one line (`engine.language.plugins.reported()`), and the built-in skills run as ever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from engine.language.catalog import load_catalog
from engine.language.plugins import SKILLS_GROUP, plugin_entries, plugin_label, report

__all__ = ["plugin_skills"]

Skill = Callable[[dict[str, Any], Any], Awaitable[Any]]


def _implementations(loaded: Any) -> Mapping[str, Any]:
    if not isinstance(loaded, Mapping) and callable(loaded):
        loaded = loaded()
    if not isinstance(loaded, Mapping):
        raise TypeError(f"the entry point gives {type(loaded).__name__}, not a mapping of skill name to callable")
    return loaded


def plugin_skills() -> dict[str, Skill]:
    """Every accepted plugin's skills by name; a plugin that does not load is reported and left out."""
    by_plugin: dict[str, set[str]] = {}
    for name, spec in load_catalog().skills.items():
        if spec.get("plugin"):
            by_plugin.setdefault(str(spec["plugin"]), set()).add(name)
    out: dict[str, Skill] = {}
    for entry in plugin_entries(SKILLS_GROUP):
        label = plugin_label(entry)
        names = by_plugin.get(entry.name)
        if names is None:  # its catalogue was refused (and reported) or it brings no skill
            continue
        try:
            implementations = _implementations(entry.load())
        except Exception as exc:  # third-party code: whatever it raises, the plugin is left out in one line
            report(f"{label}: cannot load {entry.value}: {type(exc).__name__}: {exc}; left out")
            continue
        missing, extra = sorted(names - set(implementations)), sorted(set(implementations) - names)
        wrong = sorted(n for n in names & set(implementations) if not callable(implementations[n]))
        if missing or extra or wrong:
            why = "; ".join(
                part
                for part in (
                    f"no implementation for {', '.join(missing)}" if missing else "",
                    f"{', '.join(extra)} not in its catalog.json" if extra else "",
                    f"{', '.join(wrong)} not callable" if wrong else "",
                )
                if part
            )
            report(f"{label}: {entry.value}: {why}; left out")
            continue
        out.update({name: implementations[name] for name in names})
    return out
