"""The catalogue and device profiles are data: they must be valid JSON Schema and fit their own schemas."""

from __future__ import annotations

import json

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.language.catalog import CatalogError, load_catalog, load_profile
from tests.support import ROOT

SCHEMAS = ROOT / "schemas"


def test_flow_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(json.loads((SCHEMAS / "flow.schema.json").read_text()))


def test_every_action_and_skill_schema_is_valid() -> None:
    catalog = load_catalog()
    for action in catalog.actions.values():
        Draft202012Validator.check_schema(action["args"])
    for name, skill in catalog.skills.items():
        Draft202012Validator.check_schema(skill["input"])
        Draft202012Validator.check_schema(skill["output"])
        assert skill["description"], name
    for name, event in catalog.events.items():
        Draft202012Validator.check_schema(event["payload"])
        assert event["producer"] in ("device", "engine", "skill"), name


def test_profiles_fit_the_profile_schema() -> None:
    validator = Draft202012Validator(json.loads((SCHEMAS / "device-profile.schema.json").read_text()))
    profiles = sorted((ROOT / "devices" / "profiles").glob("*.yaml"))
    assert {p.stem for p in profiles} >= {"quark-display", "audio-only"}
    for path in profiles:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert not errors, (path.name, [e.message for e in errors])
    catalog = load_catalog()
    assert catalog.profiles["quark-display"].hud is not None
    assert catalog.profiles["quark-display"].hud.lines == 5
    assert catalog.profiles["audio-only"].hud is None
    assert "display" not in catalog.profiles["audio-only"].capabilities


def test_a_broken_profile_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "bad.yaml").write_text("title: no id\n")
    with pytest.raises(CatalogError, match=r"bad\.yaml: a device profile needs"):
        load_profile(tmp_path / "bad.yaml")
    (tmp_path / "bad.yaml").write_text("profile: x\ncapabilities: []\nhud: {lines: five}\n")
    with pytest.raises(CatalogError, match="whole numbers"):
        load_profile(tmp_path / "bad.yaml")
