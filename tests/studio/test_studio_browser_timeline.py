"""The timeline in a real browser (Debian's headless Chromium through Selenium): drive the glasses a few steps,
look at an earlier step (its slots and HUD as they were), go back to live, and save the run as a flow test.
Screenshots in out/test-artifacts/studio/ (or $LENSFLOW_TEST_ARTIFACTS)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import ROOT
from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.studio import start_studio, stop_studio


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def test_time_travel_back_to_live_and_save_as_test_in_chromium(browser: webdriver.Chrome, tmp_path: Path) -> None:
    folder = shutil.copytree(ROOT / "flows", tmp_path / "flows", ignore=shutil.ignore_patterns("tests"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_studio(folder, env={"LENSFLOW_DATA": str(tmp_path / "data")})
    try:
        browser.get(url + "#capture")
        text = browser.find_element(By.ID, "text")
        until(browser, "the flow in the editor", lambda d: "flow: capture" in str(text.get_property("value") or ""))
        start = browser.find_element(By.ID, "sim-start")
        until(browser, "Start to be enabled", lambda d: start.is_enabled())
        start.click()
        status = browser.find_element(By.ID, "sim-status")
        state = browser.find_element(By.ID, "sim-state")
        hud = browser.find_element(By.ID, "hud")
        until(browser, "the photo taken at start", lambda d: "capture ended: done" in status.text)
        browser.find_element(By.ID, "utterance").send_keys("record a video", Keys.ENTER)
        until(browser, "the recording state", lambda d: status.text == "capture: recording")
        browser.find_element(By.CSS_SELECTOR, "button[data-ms='1000']").click()
        until(browser, "the HUD to say Recording", lambda d: "Recording" in hud.text)
        steps = until(browser, "three steps", lambda d: _steps(d) if len(_steps(d)) == 3 else None)
        assert "00:01.000" in steps[0].text and "recording" in steps[0].text  # newest first
        assert '"record a video" → capture: recording' in steps[1].text and "start → " in steps[2].text

        # the first step as it was: the photo's slots, its HUD toast, the LED off
        steps[-1].click()
        viewing = browser.find_element(By.ID, "tl-viewing")
        until(browser, "the viewing bar", lambda d: viewing.is_displayed())
        assert "viewing 00:00.000" in viewing.text and "back to live" in viewing.text
        assert '"mode": "photo"' in state.text and "Saved" in hud.text
        assert "on" not in (browser.find_element(By.ID, "led").get_attribute("title") or "")
        browser.save_screenshot(str(ARTIFACTS / "timeline-1-viewing-the-start.png"))

        # the live session goes on meanwhile: a tap stops the recording, the view does not move
        browser.find_element(By.CSS_SELECTOR, "button[data-event='gesture.tap']").click()
        until(browser, "a fourth step", lambda d: len(_steps(d)) == 4)
        assert '"mode": "photo"' in state.text and viewing.is_displayed()

        browser.find_element(By.ID, "tl-live").click()
        until(browser, "the live state", lambda d: '"mode": "video"' in state.text)
        assert not viewing.is_displayed() and "Saved" in hud.text and "ended" in status.text

        # the run as a flow test, written beside the flows
        browser.find_element(By.ID, "tl-name").send_keys("a video from the browser", Keys.ENTER)
        saved = browser.find_element(By.ID, "tl-saved")
        until(browser, "the saved test", lambda d: "saved case 1" in saved.text)
        assert "flows/tests/capture.yaml" in saved.text
        browser.execute_script("arguments[0].scrollIntoView()", saved)
        browser.save_screenshot(str(ARTIFACTS / "timeline-2-saved-as-test.png"))
        case = yaml.safe_load((folder / "tests" / "capture.yaml").read_text(encoding="utf-8"))["tests"][0]
        assert case["name"] == "a video from the browser"
        assert {"at": "1s", "gesture": "tap"} in case["events"] and {"hud_shows": "Recording"} in case["expect"]

        # the history is bounded: 2,000 steps kept, the page says how many older ones were dropped
        browser.execute_script(
            "for (let i = 0; i < 2000; i++) timelineMessage({type: 'state', flow: 'capture', active: ['done'],"
            " done: true, clock_ms: 1000, slots: {}, vars: {}});"
        )
        dropped = browser.find_element(By.ID, "tl-dropped")
        assert "4 older step(s) dropped" in dropped.text and len(_steps(browser)) == 2000
    finally:
        err = stop_studio(proc)
    assert "Traceback" not in err, err


def _steps(driver: webdriver.Chrome) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "#timeline .step-head")
