"""The Tests pane in a real browser: Debian's headless Chromium, driven by Selenium through its chromedriver.

A designer opens capture, runs its tests (all green), changes the HUD text in the editor without saving,
runs them again and sees the failing case red with its assertion's line, clicks it and sees the test file
at that line, turns on "Show uncovered" and sees the diagram drawn again, then explores the flow.
Screenshots are kept in out/test-artifacts/studio/ (or $LENSFLOW_TEST_ARTIFACTS).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.flows import shipped_flows
from tests.support.studio import running_studio


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def test_a_designer_runs_the_tests_breaks_one_and_sees_it_red_at_its_line(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    folder = shipped_flows(tmp_path, tests=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running_studio(folder, {"LENSFLOW_DATA": str(tmp_path / "data")}) as url:
        browser.get(url + "#capture")
        text = browser.find_element(By.ID, "text")
        until(browser, "the flow in the editor", lambda d: "flow: capture" in str(text.get_property("value") or ""))
        run = browser.find_element(By.ID, "tests-run")
        status = browser.find_element(By.ID, "tests-status")
        until(browser, "Run tests to be enabled", lambda d: run.is_enabled())

        run.click()
        until(browser, "the busy mark", lambda d: d.find_element(By.ID, "tests-busy").is_displayed(), 5)
        until(browser, "the green run", lambda d: status.text.startswith("10 passed, 0 failed"), 60)
        results = browser.find_elements(By.CSS_SELECTOR, "#tests-results li")
        assert len(results) == 10 and all(r.get_attribute("class") == "passed" for r in results)
        coverage = browser.find_element(By.CSS_SELECTOR, "#tests-coverage .figures").text
        assert coverage == "tests: 12/16 transitions (75%), 9/10 states (90%)"
        browser.save_screenshot(str(ARTIFACTS / "tests-1-green.png"))

        # the HUD text changed in the editor (not saved): the case that checks it goes red, at its line
        browser.execute_script(
            "const t = document.getElementById('text');"
            "t.value = t.value.replace('text: Recording}', 'text: Filming}');"
            "t.dispatchEvent(new Event('input'));"
        )
        run.click()
        until(browser, "the red run", lambda d: status.text.startswith("9 passed, 1 failed"), 60)
        (failed,) = browser.find_elements(By.CSS_SELECTOR, "#tests-results li.failed")
        assert "a video records until a tap and is saved" in failed.text
        where = failed.find_element(By.CSS_SELECTOR, ".failure .where")
        assert where.text == "flows/tests/capture.yaml:28"
        assert "hud_shows 'Recording'" in failed.text and "Filming" in failed.text

        where.click()
        current = until(
            browser,
            "the test file at the line",
            lambda d: d.find_elements(By.CSS_SELECTOR, "#tests-file-text .current"),
        )
        assert current[0].text.strip() == "28        - hud_shows: Recording"
        browser.find_element(By.ID, "tests-uncovered").click()
        dashed = until(
            browser,
            "the diagram drawn again, uncovered parts dashed red",
            lambda d: d.find_elements(By.CSS_SELECTOR, "#diagram svg g.uncovered"),
        )
        assert {e.get_attribute("id") for e in dashed} >= {"t:choosing:0", "t:recording:4"}
        # what the diagram is asked to draw dashed red: the transitions and the state the tests never took
        asked = browser.execute_script("return uncoveredQuery('')")
        assert asked == (
            "?uncovered=choosing%3A0%2Crecording%3A4%2Csaving_video%3A1%2Csaving_video%3A2&uncovered_states=not_worn"
        )
        browser.save_screenshot(str(ARTIFACTS / "tests-2-red-at-its-line.png"))

        browser.find_element(By.ID, "tests-explore").click()
        until(browser, "the exploration", lambda d: status.text.startswith("no findings; complete"), 30)
        coverage = browser.find_element(By.CSS_SELECTOR, "#tests-coverage .figures").text
        assert coverage == "exploration: 16/16 transitions (100%), 10/10 states (100%)"
        assert not (folder / "capture.yaml").read_text(encoding="utf-8").count("Filming")
    assert (ARTIFACTS / "tests-2-red-at-its-line.png").stat().st_size > 10_000
