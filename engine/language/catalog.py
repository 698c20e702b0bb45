"""The catalogue the checks consult: events, actions, skills, error codes, HUD layouts, device profiles.

All of it is data (`schemas/catalog/*.json`, `devices/profiles/*.yaml`), so a new
skill, event or device is added by editing a file, never the checks. Skills and
devices added by later work register here simply by shipping their data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from engine.errors import UserError

__all__ = [
    "CATALOG_DIR",
    "DEFAULT_PROFILE",
    "PROFILES_DIR",
    "SCHEMAS_DIR",
    "Catalog",
    "CatalogError",
    "DeviceProfile",
    "ErrorVocabulary",
    "HudGeometry",
    "UnknownProfile",
    "load_catalog",
    "load_errors",
    "load_profile",
    "skill_permissions",
]


def _package_folder(package: str) -> Path:
    """A package's folder, found through `importlib.resources`: the same in a checkout and an installed wheel.

    The catalogue, schemas and profiles ship as package data beside the code, so no lookup depends on
    the working directory or on a checkout. A zipped install has no folder to give, and says so.
    """
    found = files(package)
    if not isinstance(found, Path):
        raise RuntimeError(f"package {package!r} is not installed as files ({found!r}); install Lensflow unzipped")
    return found


SCHEMAS_DIR = _package_folder("schemas")
CATALOG_DIR = SCHEMAS_DIR / "catalog"
PROFILES_DIR = _package_folder("devices") / "profiles"  # data beside the device code, not a module
DEFAULT_PROFILE = "quark-display"


class UnknownProfile(UserError):
    """A device profile name that no file in devices/profiles defines."""

    code = "UNKNOWN_PROFILE"


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
    plugin: str | None = None  # the entry point name of the plugin that brought it; None when built in


@dataclass(frozen=True)
class ErrorVocabulary:
    """Every `error.code` a step can fail with (errors.json): one name per meaning.

    `aliases` are old names no skill raises any more, kept so a guard that still
    compares with one is told the new name; `engine` lists the codes the engine
    itself raises for each kind of step (invoke, confirm, llm, call).
    """

    codes: dict[str, str]
    aliases: dict[str, str] = field(default_factory=dict)
    engine: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def canonical(self, code: str) -> str:
        """The vocabulary's name for a code (an alias becomes its new name; others stay as they are)."""
        return self.aliases.get(code, code)


def skill_permissions(spec: dict[str, Any]) -> tuple[str, ...]:
    """What a flow must declare to invoke a skill: `permissions` (a list) and the older single `permission`."""
    needed = [p for p in spec.get("permissions") or () if isinstance(p, str)]
    single = spec.get("permission")
    if isinstance(single, str) and single and single not in needed:
        needed.append(single)
    return tuple(needed)


@dataclass(frozen=True)
class Catalog:
    events: dict[str, dict[str, Any]]
    event_patterns: dict[str, dict[str, Any]]
    actions: dict[str, dict[str, Any]]
    skills: dict[str, dict[str, Any]]
    layouts: dict[str, dict[str, Any]]
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)
    errors: ErrorVocabulary = field(default_factory=lambda: ErrorVocabulary({}))

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

    def named_profile(self, name: str | None) -> DeviceProfile:
        """The device profile called `name` (None: the default), or UnknownProfile naming the known ones.

        The one lookup every front door uses (`validate`, `run`, `simulate`, `chat`, flow tests).
        """
        chosen = name or DEFAULT_PROFILE
        found = self.profiles.get(chosen)
        if found is None:
            raise UnknownProfile(f"unknown device profile '{chosen}'; known: {', '.join(sorted(self.profiles))}")
        return found

    def skill_errors(self, name: str) -> frozenset[str] | None:
        """Codes an invoke of this skill can fail with (its own and the engine's); None when it lists none."""
        spec = self.skills.get(name)
        if spec is None or not isinstance(spec.get("errors"), list):
            return None
        codes = {*spec["errors"], *self.errors.engine.get("invoke", ())}
        if spec.get("confirm"):
            codes |= set(self.errors.engine.get("confirm", ()))
        return frozenset(codes)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        with path.open(encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise CatalogError(f"{path}: cannot read catalogue: {exc}") from None


class CatalogError(UserError):
    """A catalogue or device-profile file that cannot be used; the message names the file."""

    code = "CONFIG"


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


def load_errors(path: Path) -> ErrorVocabulary:
    """The error vocabulary; a malformed file or an alias to an unknown code is a CatalogError."""
    data = _read_json(path)
    codes, aliases, engine = data.get("codes"), data.get("aliases", {}), data.get("engine", {})
    if not isinstance(codes, dict) or not isinstance(aliases, dict) or not isinstance(engine, dict):
        raise CatalogError(f"{path}: needs `codes` (code: meaning), and `aliases` and `engine` as mappings")
    for old, new in aliases.items():
        if new not in codes:
            raise CatalogError(f"{path}: alias {old!r} names {new!r}, which is not under `codes`")
    steps: dict[str, tuple[str, ...]] = {}
    for step, listed in engine.items():
        unknown = [c for c in listed if c not in codes] if isinstance(listed, list) else [listed]
        if unknown:
            raise CatalogError(f"{path}: engine.{step} lists {unknown!r}, not under `codes`")
        steps[step] = tuple(listed)
    return ErrorVocabulary({str(k): str(v) for k, v in codes.items()}, dict(aliases), steps)


def _check_skill_errors(skills: dict[str, dict[str, Any]], vocabulary: ErrorVocabulary, path: Path) -> None:
    """A skill may only list codes of the vocabulary, so guards and docs speak one language."""
    for name, spec in skills.items():
        listed = spec.get("errors")
        if listed is None:
            continue
        if not isinstance(listed, list):
            raise CatalogError(f"{path}: skill {name!r}: `errors` must be a list of codes")
        unknown = [c for c in listed if c not in vocabulary.codes]
        if unknown:
            hint = "; ".join(f"{c} is now {vocabulary.aliases[c]}" for c in unknown if c in vocabulary.aliases)
            raise CatalogError(
                f"{path}: skill {name!r} lists error codes not in errors.json: {', '.join(map(str, unknown))}"
                + (f" ({hint})" if hint else "")
            )


@lru_cache(maxsize=4)
def load_catalog(catalog_dir: Path = CATALOG_DIR, profiles_dir: Path = PROFILES_DIR, plugins: bool = True) -> Catalog:
    """Read the catalogue once per process, with what installed plugins bring (engine/language/plugins.py) unless
    `plugins` is False: their skills, error codes and profiles are checked exactly as the built-in ones."""
    events = _read_json(catalog_dir / "events.json")
    profiles = {}
    for path in sorted(profiles_dir.glob("*.yaml")):
        profile = load_profile(path)
        profiles[profile.id] = profile
    # a catalogue folder without its own errors.json speaks the project's vocabulary
    errors_file = catalog_dir / "errors.json"
    vocabulary = load_errors(errors_file if errors_file.exists() else CATALOG_DIR / "errors.json")
    skills = _read_json(catalog_dir / "skills.json")["skills"]
    _check_skill_errors(skills, vocabulary, catalog_dir / "skills.json")
    if plugins:
        from engine.language.plugins import plugin_data

        added = plugin_data(skills, vocabulary.codes, profiles)
        skills = {**skills, **added.skills}
        profiles.update(added.profiles)
        if added.errors:
            vocabulary = replace(vocabulary, codes={**vocabulary.codes, **added.errors})
    return Catalog(
        events=events["events"],
        event_patterns=events.get("patterns", {}),
        actions=_read_json(catalog_dir / "actions.json")["actions"],
        skills=skills,
        layouts=_read_json(catalog_dir / "hud_layouts.json")["layouts"],
        profiles=profiles,
        errors=vocabulary,
    )
