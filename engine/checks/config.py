"""Project settings from `[tool.lensflow]` in pyproject.toml.

[tool.lensflow]
profile = "quark-display"        # device profile for hud-overflow
paths = ["flows"]                # what `validate` checks by default

[tool.lensflow.rules]
hud-overflow = "off"             # off | info | warning | error
unknown-event = "warning"
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import LensflowError
from engine.files import read_regular_text
from engine.findings import Severity

__all__ = ["LEVELS", "Config", "ConfigError", "find_pyproject", "load_config"]

LEVELS = ("off", "info", "warning", "error")


class ConfigError(LensflowError):
    """A bad [tool.lensflow] setting; `where` is 'file:line' (or the file alone)."""

    def __init__(self, message: str, where: str) -> None:
        super().__init__("CONFIG", message, where)


@dataclass(frozen=True)
class Config:
    levels: dict[str, str] = field(default_factory=dict)
    profile: str | None = None
    paths: tuple[str, ...] = ("flows",)
    file: str | None = None

    def severity_for(self, rule: str, default: Severity) -> Severity | None:
        """The configured severity of a rule, or None when it is turned off."""
        level = self.levels.get(rule)
        if level is None:
            return default
        return None if level == "off" else Severity(level)


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _line_of(text: str, key: str) -> int:
    for number, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*\"?{re.escape(key)}\"?\s*=", line):
            return number
    return 1


def load_config(
    pyproject: Path | None, known_rules: set[str], known_profiles: set[str] | None = None
) -> Config:
    """The `[tool.lensflow]` settings of `pyproject`, every value checked (`ConfigError` with file:line).

    `profile` must name one of `known_profiles` (default: the catalogue's device profiles)."""
    if pyproject is None:
        return Config()
    try:
        text = read_regular_text(pyproject)
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", str(pyproject)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read ({exc.strerror or exc})", str(pyproject)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"cannot read: not UTF-8 ({exc.reason} at byte {exc.start})", str(pyproject)) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError("`tool` must be a table ([tool.NAME] sections)", f"{pyproject}:{_line_of(text, 'tool')}")
    section = tool.get("lensflow")
    if section is None:
        return Config(file=str(pyproject))
    if not isinstance(section, dict):
        raise ConfigError("[tool.lensflow] must be a table", f"{pyproject}:{_line_of(text, 'lensflow')}")
    allowed = {"rules", "profile", "paths"}
    for key in section:
        if key not in allowed:
            raise ConfigError(
                f"unknown setting '{key}' in [tool.lensflow]; known: {', '.join(sorted(allowed))}",
                f"{pyproject}:{_line_of(text, key)}",
            )
    rules = section.get("rules", {})
    if not isinstance(rules, dict):
        raise ConfigError(
            "[tool.lensflow.rules] must be a table of rule = level", f"{pyproject}:{_line_of(text, 'rules')}"
        )
    levels: dict[str, str] = {}
    for rule, level in rules.items():
        where = f"{pyproject}:{_line_of(text, rule)}"
        if rule not in known_rules:
            raise ConfigError(f"unknown rule '{rule}'; run `python cli.py rules` for the list", where)
        if level not in LEVELS:
            raise ConfigError(f"rule '{rule}' has level {level!r}; use one of {', '.join(LEVELS)}", where)
        levels[rule] = level
    profile = section.get("profile")
    if profile is not None and not isinstance(profile, str):
        raise ConfigError(
            'profile must be a profile name such as "quark-display"', f"{pyproject}:{_line_of(text, 'profile')}"
        )
    if profile is not None:
        if known_profiles is None:
            from engine.language.catalog import load_catalog

            known_profiles = set(load_catalog().profiles)
        if profile not in known_profiles:
            raise ConfigError(
                f"unknown device profile '{profile}'; known: {', '.join(sorted(known_profiles))}",
                f"{pyproject}:{_line_of(text, 'profile')}",
            )
    paths = section.get("paths", ["flows"])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError("paths must be a list of folders or files", f"{pyproject}:{_line_of(text, 'paths')}")
    base = pyproject.parent
    resolved = tuple(str(base / p) if not Path(p).is_absolute() else p for p in paths)
    return Config(levels=levels, profile=profile, paths=resolved, file=str(pyproject))
