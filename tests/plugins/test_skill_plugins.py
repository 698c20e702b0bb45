"""Plugin skill implementations: loaded when skills run, matched name for name with the plugin's catalogue."""

from __future__ import annotations

import asyncio
from pathlib import Path

from engine.language.plugins import reported
from skills.plugins import plugin_skills
from skills.registry import skills_for_device
from tests.plugins.support import GOOD_SKILL, GOOD_SKILLS_CODE, write_plugin

CATALOG = {"skills": {"echo.say": GOOD_SKILL}, "errors": {"NO_ECHO": "Nothing came back."}}


def test_the_device_runs_a_plugin_skill(site: Path) -> None:
    write_plugin(site, "lensflow-echo", "echo_ok", skills=CATALOG, code=GOOD_SKILLS_CODE % "echo.say")
    skills = skills_for_device()

    async def call() -> object:
        return await skills["echo.say"]({"word": "hi"}, None)

    assert asyncio.run(call()) == {"echo": "hi"}
    assert "payment.pay" in skills and reported() == ()


def test_a_factory_function_may_give_the_mapping(site: Path) -> None:
    code = GOOD_SKILLS_CODE % "echo.say" + "\ndef make():\n    return SKILLS\n"
    write_plugin(
        site, "lensflow-echo", "echo_make", skills=CATALOG, code=code, skills_entry="echo_make = echo_make.skills:make"
    )
    assert set(plugin_skills()) == {"echo.say"}


def test_code_that_fails_to_import_leaves_the_plugin_out_in_one_line(site: Path) -> None:
    write_plugin(site, "lensflow-echo", "echo_raise", skills=CATALOG, code="raise RuntimeError('no driver here')\n")
    skills = skills_for_device()
    assert "echo.say" not in skills and "payment.pay" in skills
    (line,) = reported()
    assert line == (
        "plugin 'echo_raise' (lensflow-echo 0.1.0): cannot load echo_raise.skills:SKILLS: "
        "RuntimeError: no driver here; left out"
    )


def test_implementations_must_match_the_catalogue(site: Path) -> None:
    write_plugin(site, "lensflow-echo", "echo_other", skills=CATALOG, code=GOOD_SKILLS_CODE % "echo.shout")
    assert plugin_skills() == {}
    (line,) = reported()
    assert "no implementation for echo.say" in line and "echo.shout not in its catalog.json" in line


def test_a_refused_catalogue_means_the_code_is_never_loaded(site: Path) -> None:
    write_plugin(
        site,
        "lensflow-echo",
        "echo_refused",
        skills={"skills": {"payment.pay": GOOD_SKILL}},
        code="raise RuntimeError('loaded anyway')\n",
    )
    assert "payment.pay" in skills_for_device()
    (line,) = reported()
    assert "is built in" in line and "loaded anyway" not in line
