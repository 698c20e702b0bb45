"""A designer's whole way in the studio, in Chromium, with no terminal: a new flow to a green test.

From an empty project: New flow writes a flow and its test; a misspelt target is underlined and fixed with
its Fix button; Ctrl-S saves. The glasses run the flow as typed: the wearer's words fill the note, a yes
shows it on the HUD, a click on the diagram's `gesture.tap` edge dismisses it. The run is saved as a flow
test, and Run tests runs it with the flow's other tests: all green. The test file `lensflow test` reads is
the one the page wrote, and it fails once the flow no longer does what the run showed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import ROOT
from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.studio import running_studio

TAP_EDGE = '#diagram g.edge.clickable[class~="on:gesture.tap"]'


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def _value(element: object) -> str:
    return str(element.get_property("value") or "")  # type: ignore[attr-defined]


def _say(driver: webdriver.Chrome, words: str) -> None:
    driver.find_element(By.ID, "utterance").send_keys(words, Keys.ENTER)


def _edit(driver: webdriver.Chrome, old: str, new: str) -> None:
    """Change the editor's text as typing would (the page hears an `input`)."""
    driver.execute_script(
        "const t = document.getElementById('text');"
        "t.value = t.value.replace(arguments[0], arguments[1]);"
        "t.dispatchEvent(new Event('input'));",
        old,
        new,
    )


def test_a_new_skill_from_new_flow_to_a_passing_saved_test_without_the_terminal(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_studio(folder, {"LENSFLOW_DATA": str(tmp_path / "data")}) as url:
        browser.get(url)
        text = browser.find_element(By.ID, "text")

        # a new flow, as `lensflow new` writes it: the flow and its test
        browser.find_element(By.ID, "new-flow").click()
        prompt = until(browser, "the id prompt", lambda d: d.switch_to.alert)
        prompt.send_keys("show_note")
        prompt.accept()
        until(browser, "the new flow open", lambda d: "flow: show_note" in _value(text))
        until(browser, "its check", lambda d: browser.find_element(By.ID, "count").text == "none")

        # a misspelt target: underlined, its finding offers the fix, the fix clears it; Ctrl-S saves
        _edit(browser, "gesture.tap: done", "gesture.tap: dnoe")
        fix = until(browser, "the finding's Fix", lambda d: d.find_elements(By.CSS_SELECTOR, "#findings li button.fix"))
        assert "dnoe" in browser.find_element(By.ID, "findings").text and browser.find_elements(
            By.CSS_SELECTOR, ".squiggle"
        )
        fix[0].click()
        until(browser, "the finding gone", lambda d: d.find_element(By.ID, "count").text == "none")
        assert "gesture.tap: done" in _value(text)
        text.send_keys(Keys.CONTROL, "s")
        until(browser, "the save", lambda d: "gesture.tap: done" in (folder / "show_note.yaml").read_text("utf-8"))

        # the glasses: the wearer's words fill the note, a yes shows it, a click on the diagram dismisses it
        start = browser.find_element(By.ID, "sim-start")
        until(browser, "Start to be enabled", lambda d: start.is_enabled())
        start.click()
        status, hud = browser.find_element(By.ID, "sim-status"), browser.find_element(By.ID, "hud")
        until(browser, "the question", lambda d: status.text == "show_note: asking")
        _say(browser, "buy oat milk")
        until(browser, "the confirmation", lambda d: status.text == "show_note: confirming")
        _say(browser, "yes")
        until(browser, "the note on the HUD", lambda d: "buy oat milk" in hud.text)
        browser.save_screenshot(str(ARTIFACTS / "journey-1-note-on-the-hud.png"))
        edge = until(browser, "the tap edge lit", lambda d: d.find_elements(By.CSS_SELECTOR, TAP_EDGE))[0]
        edge.find_element(By.CSS_SELECTOR, "text").click()
        until(browser, "the flow ended", lambda d: "ended: done" in status.text)
        browser.find_element(By.CSS_SELECTOR, "button[data-ms='10000']").click()  # a finished flow's card lingers 5 s
        until(browser, "the HUD cleared", lambda d: "buy oat milk" not in hud.text)

        # the run as a flow test, then every test of the flow run from the page: green
        browser.find_element(By.ID, "tl-name").send_keys("a note shown and dismissed", Keys.ENTER)
        saved = browser.find_element(By.ID, "tl-saved")
        until(browser, "the saved test", lambda d: "saved case" in saved.text)
        run = browser.find_element(By.ID, "tests-run")
        until(browser, "Run tests to be enabled", lambda d: run.is_enabled())
        run.click()
        tests_status = browser.find_element(By.ID, "tests-status")
        until(browser, "the green run", lambda d: " passed, 0 failed" in tests_status.text, 90)
        results = browser.find_elements(By.CSS_SELECTOR, "#tests-results li")
        assert any("a note shown and dismissed" in r.text for r in results), [r.text for r in results]
        assert results and all(r.get_attribute("class") == "passed" for r in results), [r.text for r in results]
        browser.execute_script("arguments[0].scrollIntoView()", tests_status)
        browser.save_screenshot(str(ARTIFACTS / "journey-2-saved-test-green.png"))

    # what the page wrote is what `lensflow test` reads: green as saved, red once the note's card changes
    written = folder / "tests" / "show_note.yaml"
    case = yaml.safe_load(written.read_text(encoding="utf-8"))["tests"][-1]
    assert case["name"] == "a note shown and dismissed"
    assert {"flow_completed": "done"} in case["expect"]
    assert any("buy oat milk" in str(e.get("hud_shows")) for e in case["expect"]), case["expect"]
    assert _lensflow_test(written).returncode == 0
    flow = folder / "show_note.yaml"
    flow.write_text(flow.read_text("utf-8").replace('body: "{{ slots.note }}"', "body: Noted"), "utf-8")
    failed = _lensflow_test(written)
    assert failed.returncode != 0 and "a note shown and dismissed" in failed.stdout, failed.stdout


def _lensflow_test(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "test", str(path)],
        cwd=path.parent.parent.parent, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
