"""Plugin catalogue data: merged whole when it holds together, left out whole (in one line) when it does not."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from engine.language.catalog import CATALOG_DIR, SCHEMAS_DIR, load_catalog
from engine.language.plugins import reported
from engine.language.schema import SchemaValidator, load_schema
from tests.plugins.support import GOOD_SKILL, write_plugin

MONO = "profile: tiny-mono\ncapabilities: [display, speaker]\nhud: {lines: 2, columns: 16, cjk_columns: 8}\n"


def _good(site: Path, code: str = "") -> None:
    catalog = {"skills": {"echo.say": GOOD_SKILL}, "errors": {"NO_ECHO": "Nothing came back."}}
    write_plugin(site, "lensflow-echo", "echo_plugin", skills=catalog, init=code, code=code)


def test_a_plugin_skill_joins_the_catalogue_marked_with_its_plugin(site: Path) -> None:
    _good(site)
    catalog = load_catalog()
    assert catalog.skills["echo.say"]["plugin"] == "echo_plugin"
    assert catalog.skills["echo.say"]["input"]["required"] == ["word"]
    assert catalog.errors.codes["NO_ECHO"] == "Nothing came back."
    assert catalog.skill_errors("echo.say") is not None and "NO_ECHO" in (catalog.skill_errors("echo.say") or ())
    assert "payment.pay" in catalog.skills and "plugin" not in catalog.skills["payment.pay"]
    assert reported() == ()


def test_the_catalogue_is_read_without_running_plugin_code(site: Path) -> None:
    _good(site, code="raise RuntimeError('plugin code ran')\n")
    assert "echo.say" in load_catalog().skills


def test_without_plugins_the_catalogue_is_the_built_in_one(site: Path) -> None:
    _good(site)
    assert "echo.say" not in load_catalog(plugins=False).skills


def test_catalogue_data_that_breaks_the_schema_leaves_the_plugin_out_in_one_line(site: Path) -> None:
    broken = copy.deepcopy(GOOD_SKILL)
    broken["permissions"] = ["teleport"]
    write_plugin(site, "lensflow-bad", "bad_plugin", skills={"skills": {"bad.one": broken, "bad.two": GOOD_SKILL}})
    _good(site)
    catalog = load_catalog()
    assert "bad.one" not in catalog.skills and "bad.two" not in catalog.skills  # never half-loaded
    assert "echo.say" in catalog.skills and "payment.pay" in catalog.skills
    (line,) = reported()
    assert line.startswith(f"plugin 'bad_plugin' (lensflow-bad 0.1.0): {site / 'bad_plugin' / 'catalog.json'}: ")
    assert "skills.bad.one.permissions[0]" in line and "teleport" in line and "\n" not in line


def test_unreadable_catalogue_is_one_line(site: Path) -> None:
    write_plugin(site, "lensflow-bad", "bad_plugin", skills="{not json")
    assert "payment.pay" in load_catalog().skills
    (line,) = reported()
    assert "plugin 'bad_plugin'" in line and "cannot read" in line and "catalog.json" in line


def test_a_plugin_cannot_shadow_or_borrow_a_built_in_name(site: Path) -> None:
    write_plugin(site, "lensflow-a", "shadow", skills={"skills": {"payment.pay": GOOD_SKILL}})
    write_plugin(site, "lensflow-b", "borrow", skills={"skills": {"payment.refund_all": GOOD_SKILL}})
    catalog = load_catalog()
    assert catalog.skills["payment.pay"].get("confirm") is True  # still the built-in one
    assert "payment.refund_all" not in catalog.skills
    lines = reported()
    assert any("plugin 'shadow'" in x and "'payment.pay' is built in" in x for x in lines)
    assert any("plugin 'borrow'" in x and "built-in namespace 'payment'" in x for x in lines)


def test_two_plugins_cannot_bring_the_same_skill(site: Path) -> None:
    skill = {**GOOD_SKILL, "errors": ["TIMEOUT"]}
    write_plugin(site, "lensflow-a", "aa_plugin", skills={"skills": {"echo.say": skill}})
    write_plugin(site, "lensflow-b", "bb_plugin", skills={"skills": {"echo.say": skill}})
    assert load_catalog().skills["echo.say"]["plugin"] == "aa_plugin"
    (line,) = reported()
    assert "plugin 'bb_plugin'" in line and "already provided by plugin 'aa_plugin'" in line


def test_error_codes_must_be_known_or_declared(site: Path) -> None:
    write_plugin(
        site, "lensflow-echo", "echo_plugin", skills={"skills": {"echo.say": GOOD_SKILL}}
    )  # NO_ECHO undeclared
    write_plugin(
        site, "lensflow-t", "redefine", skills={"skills": {"redefine.x": GOOD_SKILL}, "errors": {"TIMEOUT": "mine"}}
    )
    catalog = load_catalog()
    assert "echo.say" not in catalog.skills and "NO_ECHO" not in catalog.errors.codes
    assert catalog.errors.codes["TIMEOUT"] != "mine"
    lines = reported()
    assert any("'echo.say' lists error codes neither in errors.json nor under `errors`: NO_ECHO" in x for x in lines)
    assert any("plugin 'redefine'" in x and "TIMEOUT already in the vocabulary" in x for x in lines)


def test_a_plugin_profile_is_a_known_profile(site: Path) -> None:
    write_plugin(site, "lensflow-mono", "mono_plugin", profiles={"tiny.yaml": MONO})
    profile = load_catalog().named_profile("tiny-mono")
    assert profile.plugin == "mono_plugin" and profile.hud is not None and profile.hud.columns == 16
    assert load_catalog().named_profile("quark-display").plugin is None


def test_a_broken_profile_is_one_line_with_file_line_column(site: Path) -> None:
    bad = MONO.replace("hud: {lines: 2", "hud: {lines: two")
    write_plugin(site, "lensflow-mono", "mono_plugin", profiles={"tiny.yaml": bad})
    assert "tiny-mono" not in load_catalog().profiles and "quark-display" in load_catalog().profiles
    (line,) = reported()
    assert line.startswith("plugin 'mono_plugin' (lensflow-mono 0.1.0): ")
    assert f"{site / 'mono_plugin' / 'profiles' / 'tiny.yaml'}:3:" in line and "; left out" in line


def test_a_plugin_profile_cannot_replace_a_built_in_one(site: Path) -> None:
    write_plugin(site, "lensflow-mono", "mono_plugin", profiles={"q.yaml": MONO.replace("tiny-mono", "quark-display")})
    assert load_catalog().named_profile("quark-display").plugin is None
    (line,) = reported()
    assert "profile 'quark-display' is built in" in line


def test_the_built_in_skills_fit_the_schema_plugins_are_held_to() -> None:
    schema = load_schema(SCHEMAS_DIR / "skill-catalog.schema.json")
    built_in = json.loads((CATALOG_DIR / "skills.json").read_text(encoding="utf-8"))
    assert SchemaValidator(schema, "skill_catalog_test").problems(built_in) == []


def test_an_input_that_is_no_json_schema_leaves_the_plugin_out(site: Path) -> None:
    skill = copy.deepcopy(GOOD_SKILL)
    skill["input"]["properties"]["word"] = {"type": "strnig"}
    write_plugin(site, "lensflow-bad", "bad_schema", skills={"skills": {"bad.one": skill}})
    assert "bad.one" not in load_catalog().skills
    (line,) = reported()
    assert "skill 'bad.one': input['properties']['word']['type'] is not a valid JSON Schema: 'strnig'" in line
    assert "\n" not in line
