"""The catalogue data other packages bring through entry points: skills (`lensflow.skills`) and device profiles
(`lensflow.devices`).

Only data is read here, never plugin code: an entry point's module is located with `find_spec` on its
top-level package (which runs nothing) and its data files are read from that folder, so `validate` stays as
fast as the files are small. A skills plugin ships `catalog.json` (schemas/skill-catalog.schema.json, the
shape of schemas/catalog/skills.json); a devices plugin ships `profiles/*.yaml` (device-profile.schema.json).
A devices entry point that names an attribute (`module:make`) is a driver instead (devices/drivers.py): code
that only `lensflow drive` loads, adding no data here.

A plugin is taken whole or not at all: any problem (unreadable data, a schema violation, a name that shadows a
built-in, an error code nobody declared) leaves it out, and the problem is kept as one line naming the plugin
for the command line to print (`reported()`). The built-ins never depend on a plugin loading.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import EntryPoint, entry_points
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from engine.errors import UserError
from engine.language.catalog import SCHEMAS_DIR, DeviceProfile, load_profile
from engine.language.schema import SchemaValidator, load_schema, read_checked

__all__ = [
    "DEVICES_GROUP",
    "SKILLS_GROUP",
    "PluginData",
    "forget_reported",
    "plugin_data",
    "plugin_drivers",
    "plugin_entries",
    "plugin_label",
    "report",
    "reported",
]

SKILLS_GROUP = "lensflow.skills"
DEVICES_GROUP = "lensflow.devices"
CATALOG_FILE = "catalog.json"
_REPORTED: list[str] = []


def report(problem: str) -> None:
    """Keep one line about a plugin left out, once, for the command line to print."""
    if problem not in _REPORTED:
        _REPORTED.append(problem)


def forget_reported() -> None:
    """Start a fresh list (a process that reads the plugins again, after `load_catalog.cache_clear()`)."""
    _REPORTED.clear()


def reported() -> tuple[str, ...]:
    """Every plugin problem met so far in this process, in the order met."""
    return tuple(_REPORTED)


class _Refused(Exception):
    """Why one plugin is left out (internal: turned into a reported line)."""


@dataclass
class PluginData:
    """What the plugins that loaded add: skill specs and device profiles (each marked with its plugin), error codes."""

    skills: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)


def plugin_label(entry: EntryPoint) -> str:
    """`'hello' (lensflow-hello 0.1.0)`: how every message names a plugin."""
    dist = entry.dist
    where = f" ({dist.name} {dist.version})" if dist is not None else ""
    return f"plugin {entry.name!r}{where}"


def _folder(module: str) -> Path:
    """The folder that holds `module` (its own folder for a package), found without running any of its code."""
    top, *rest = module.split(".")
    try:
        spec = find_spec(top)
    except (ImportError, ValueError) as exc:
        raise _Refused(f"cannot find module {module!r}: {exc}") from None
    if spec is None or not spec.submodule_search_locations:
        raise _Refused(f"module {top!r} is not an installed package (its data lives in a package folder)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    for part in rest:
        if (folder / part).is_dir():
            folder = folder / part
        elif not (folder / f"{part}.py").is_file():
            raise _Refused(f"module {module!r} not found in {folder}")
    return folder


def plugin_entries(group: str) -> list[EntryPoint]:
    """The group's entry points in a stable order; a name used twice keeps its first and reports the rest."""
    seen: dict[str, EntryPoint] = {}
    for entry in sorted(entry_points(group=group), key=lambda e: (e.name, e.value)):
        if entry.name in seen:
            report(f"{plugin_label(entry)}: the name {entry.name!r} is taken by {plugin_label(seen[entry.name])}")
            continue
        seen[entry.name] = entry
    return list(seen.values())


_catalog_validator: SchemaValidator | None = None


def _skill_catalog(entry: EntryPoint) -> tuple[Path, dict[str, Any]]:
    """The plugin's catalog.json, checked against the skill catalogue's schema."""
    global _catalog_validator
    path = _folder(entry.module) / CATALOG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _Refused(f"cannot read {path}: {exc}") from None
    if _catalog_validator is None:
        _catalog_validator = SchemaValidator(load_schema(SCHEMAS_DIR / "skill-catalog.schema.json"), "skill_catalog")
    problems = _catalog_validator.problems(data)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise _Refused(f"{path}: {first.message}{more}")  # the message says where in the file
    _check_schemas(data["skills"], path)
    return path, data


def _check_schemas(skills: dict[str, Any], path: Path) -> None:
    """Each `input` / `output` must itself be a valid JSON Schema: the checks compile them."""
    from jsonschema import Draft202012Validator, SchemaError

    for name, spec in skills.items():
        for key in ("input", "output"):
            try:
                Draft202012Validator.check_schema(spec[key])
            except SchemaError as exc:
                where = "".join(f"[{p!r}]" for p in exc.absolute_path)
                raise _Refused(
                    f"{path}: skill {name!r}: {key}{where} is not a valid JSON Schema: {exc.message}"
                ) from None


def _check_skills(
    data: dict[str, Any], path: str, builtin: Collection[str], taken: Mapping[str, str], codes: Collection[str]
) -> None:
    """Plugin skills live in namespaces of their own and fail only with codes the vocabulary or the plugin names."""
    builtin_spaces = {name.split(".")[0] for name in builtin}
    declared = data.get("errors") or {}
    clash = sorted(set(declared) & set(codes))
    if clash:
        raise _Refused(f"{path}: errors: {', '.join(clash)} already in the vocabulary; list them without declaring")
    for name, spec in data["skills"].items():
        if name in builtin:
            raise _Refused(f"{path}: skill {name!r} is built in; a plugin cannot replace it")
        space = name.split(".")[0]
        if space in builtin_spaces:
            raise _Refused(
                f"{path}: skill {name!r} is in the built-in namespace {space!r}; use a namespace of your own"
            )
        if name in taken:
            raise _Refused(f"{path}: skill {name!r} is already provided by {taken[name]}")
        unknown = [c for c in spec["errors"] if c not in codes and c not in declared]
        if unknown:
            raise _Refused(
                f"{path}: skill {name!r} lists error codes neither in errors.json nor under `errors`: "
                + ", ".join(unknown)
            )


_profile_validator: SchemaValidator | None = None


def _profile_files(entry: EntryPoint) -> list[Path]:
    """The plugin's profiles/*.yaml, each checked against the device-profile schema (file:line:col on a problem)."""
    global _profile_validator
    if entry.attr:  # a driver (devices/drivers.py): code, loaded only by `lensflow drive`; its profile is data
        return []
    folder = _folder(entry.module) / "profiles"
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise _Refused(f"no device profile in {folder} (profiles/*.yaml)")
    if _profile_validator is None:
        _profile_validator = SchemaValidator(load_schema(SCHEMAS_DIR / "device-profile.schema.json"), "device_profile")
    for path in paths:
        read_checked(path, _profile_validator, lambda where, message: UserError(f"{where}: {message}"))
    return paths


def plugin_drivers() -> dict[str, EntryPoint]:
    """The installed device drivers by name (`lensflow.devices` entry points naming `module:attribute`), unloaded."""
    return {entry.name: entry for entry in plugin_entries(DEVICES_GROUP) if entry.attr}


def plugin_data(
    builtin_skills: Collection[str], codes: Collection[str], builtin_profiles: Collection[str]
) -> PluginData:
    """Every installed plugin's catalogue data that holds together; each one that does not is reported and left out."""
    out = PluginData()
    for entry in plugin_entries(SKILLS_GROUP):
        try:
            path, data = _skill_catalog(entry)
            taken = {name: f"plugin {spec['plugin']!r}" for name, spec in out.skills.items()}
            _check_skills(data, str(path), builtin_skills, taken, {*codes, *out.errors})
        except _Refused as exc:
            report(f"{plugin_label(entry)}: {exc}; left out")
            continue
        out.skills.update({name: {**spec, "plugin": entry.name} for name, spec in data["skills"].items()})
        out.errors.update(data.get("errors") or {})
    for entry in plugin_entries(DEVICES_GROUP):
        try:
            found = _read_profiles(entry, builtin_profiles, out.profiles)
        except (_Refused, UserError) as exc:
            report(f"{plugin_label(entry)}: {exc}; left out")
            continue
        out.profiles.update(found)
    return out


def _read_profiles(
    entry: EntryPoint, builtin: Collection[str], taken: Mapping[str, DeviceProfile]
) -> dict[str, DeviceProfile]:
    found: dict[str, DeviceProfile] = {}
    for path in _profile_files(entry):
        profile = load_profile(path)
        if profile.id in builtin:
            raise _Refused(f"{path}: profile {profile.id!r} is built in; a plugin cannot replace it")
        if profile.id in taken or profile.id in found:
            raise _Refused(f"{path}: profile {profile.id!r} is defined twice")
        found[profile.id] = replace(profile, plugin=entry.name)
    return found
