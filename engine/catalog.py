"""The catalogue the checks consult: events, actions, skills, HUD layouts, device profiles.

All of it is data (`schemas/catalog/*.json`, `devices/profiles/*.yaml`), so a new
skill, event or device is added by editing a file, never the checks. Skills and
devices added by later work register here simply by shipping their data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = PROJECT_ROOT / "schemas" / "catalog"
PROFILES_DIR = PROJECT_ROOT / "devices" / "profiles"
DEFAULT_PROFILE = "quark-display"


@dataclass(frozen=True)
class HudGeometry:
    lines: int
    columns: int
    cjk_columns: int
    max_updates_per_second: float = 4.0
    width_px: int = 640
    height_px: int = 240
    color: str = "#00ff66"


@dataclass(frozen=True)
class DeviceProfile:
    id: str
    title: str
    capabilities: frozenset[str]
    hud: HudGeometry | None
    file: str


@dataclass(frozen=True)
class Catalog:
    events: dict[str, dict[str, Any]]
    event_patterns: dict[str, dict[str, Any]]
    actions: dict[str, dict[str, Any]]
    skills: dict[str, dict[str, Any]]
    layouts: dict[str, dict[str, Any]]
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)

    @property
    def capabilities(self) -> frozenset[str]:
        """Every capability some known device offers."""
        out: set[str] = set()
        for profile in self.profiles.values():
            out |= profile.capabilities
        return frozenset(out)

    def knows_event(self, name: str) -> bool:
        if name in self.events:
            return True
        return any(name.startswith(pattern[:-1]) or name == pattern[:-2] for pattern in self.event_patterns)

    def skill_events(self) -> set[str]:
        return {e for skill in self.skills.values() for e in skill.get("events", [])}

    def profile(self, name: str | None) -> DeviceProfile | None:
        return self.profiles.get(name or DEFAULT_PROFILE)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)  # type: ignore[no-any-return]
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot read catalogue: {exc}") from None


class CatalogError(Exception):
    """A catalogue or device-profile file that cannot be used; the message names the file."""


def load_profile(path: Path) -> DeviceProfile:
    try:
        with path.open("rb") as handle:
            data = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise CatalogError(f"{path}: cannot read device profile: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict) or not isinstance(data.get("profile"), str):
        raise CatalogError(
            f"{path}: a device profile needs `profile:` and `capabilities:` (see schemas/device-profile.schema.json)"
        )
    hud = data.get("hud")
    geometry = None
    if isinstance(hud, dict):
        try:
            geometry = HudGeometry(
                int(hud["lines"]),
                int(hud["columns"]),
                int(hud["cjk_columns"]),
                float(hud.get("max_updates_per_second", 4)),
                int(hud.get("width_px", 640)),
                int(hud.get("height_px", 240)),
                str(hud.get("color", "#00ff66")),
            )
        except (KeyError, TypeError, ValueError):
            raise CatalogError(f"{path}: hud needs whole numbers lines, columns and cjk_columns") from None
    return DeviceProfile(
        id=str(data["profile"]),
        title=str(data.get("title", data["profile"])),
        capabilities=frozenset(data.get("capabilities", [])),
        hud=geometry,
        file=str(path),
    )


@lru_cache(maxsize=4)
def load_catalog(catalog_dir: Path = CATALOG_DIR, profiles_dir: Path = PROFILES_DIR) -> Catalog:
    """Read the catalogue once per process."""
    events = _read_json(catalog_dir / "events.json")
    profiles = {}
    for path in sorted(profiles_dir.glob("*.yaml")):
        profile = load_profile(path)
        profiles[profile.id] = profile
    return Catalog(
        events=events["events"],
        event_patterns=events.get("patterns", {}),
        actions=_read_json(catalog_dir / "actions.json")["actions"],
        skills=_read_json(catalog_dir / "skills.json")["skills"],
        layouts=_read_json(catalog_dir / "hud_layouts.json")["layouts"],
        profiles=profiles,
    )
