"""The studio page in a real browser: Debian's headless Chromium, driven by Selenium through its chromedriver.

A designer opens a flow, makes a typo and sees the finding, fixes it, saves with Ctrl-S, then starts the
glasses, says "record a video", steps the clock and sees the HUD change. Screenshots of each stage are kept
in out/test-artifacts/studio/ (or $LENSFLOW_TEST_ARTIFACTS) for a person to look at.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support import ROOT
from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.studio import start_studio, stop_studio

TYPO = "\nstates_again: {}"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def test_a_designer_edits_saves_and_drives_the_glasses_in_chromium(browser: webdriver.Chrome, tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    for path in (ROOT / "flows").glob("*.yaml"):
        shutil.copy2(path, folder / path.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_studio(folder, env={"LENSFLOW_DATA": str(tmp_path / "data")})
    try:
        browser.get(url)
        capture = until(
            browser, "the flow list", lambda d: d.find_element(By.CSS_SELECTOR, "#flows li[data-id=capture]")
        )
        capture.click()
        text = browser.find_element(By.ID, "text")
        until(browser, "the flow in the editor", lambda d: "flow: capture" in str(text.get_property("value") or ""))
        until(browser, "the diagram", lambda d: d.find_elements(By.CSS_SELECTOR, "#diagram svg"))

        # a typo at the end of the file: its finding appears without saving, and the file is untouched
        on_disk = (folder / "capture.yaml").read_text(encoding="utf-8")
        text.click()
        text.send_keys(Keys.CONTROL, Keys.END)
        text.send_keys(TYPO)
        finding = until(
            browser,
            "the typo's finding",
            lambda d: next(
                (f for f in d.find_elements(By.CSS_SELECTOR, "#findings li") if "states_again" in f.text), None
            ),
        )
        browser.save_screenshot(str(ARTIFACTS / "1-typo-finding.png"))
        assert "unknown key" in finding.text and (folder / "capture.yaml").read_text(encoding="utf-8") == on_disk

        # fixed by deleting it again; a comment added and saved with Ctrl-S reaches the file
        text.send_keys(Keys.BACKSPACE * len(TYPO))
        until(browser, "no findings", lambda d: d.find_element(By.ID, "count").text == "none")
        text.send_keys("\n# checked in the studio")
        text.send_keys(Keys.CONTROL, "s")
        until(
            browser,
            "the save",
            lambda d: (folder / "capture.yaml").read_text(encoding="utf-8").endswith("# checked in the studio"),
        )

        # the glasses: start, say what the wearer says, step the clock, see the HUD
        start = browser.find_element(By.ID, "sim-start")
        until(browser, "Start to be enabled", lambda d: start.is_enabled())
        start.click()
        status = browser.find_element(By.ID, "sim-status")
        until(browser, "the photo taken at start", lambda d: "capture ended: done" in status.text)
        utterance = browser.find_element(By.ID, "utterance")
        utterance.send_keys("record a video", Keys.ENTER)
        until(browser, "the recording state", lambda d: status.text == "capture: recording")
        assert '"mode": "video"' in browser.find_element(By.ID, "sim-state").text  # the slot the words filled
        browser.find_element(By.CSS_SELECTOR, "button[data-ms='1000']").click()
        hud = browser.find_element(By.ID, "hud")
        until(browser, "the HUD to say Recording", lambda d: "Recording" in hud.text)
        browser.save_screenshot(str(ARTIFACTS / "2-glasses-recording.png"))
        width = browser.execute_script("return document.documentElement.clientWidth")
        assert hud.rect["x"] + hud.rect["width"] <= width, (hud.rect, width)  # the whole HUD box in view
        assert "on" in (browser.find_element(By.ID, "led").get_attribute("title") or "")  # the privacy LED
        assert browser.find_elements(By.CSS_SELECTOR, "#timeline li")  # what happened, listed
    finally:
        err = stop_studio(proc)
    assert "Traceback" not in err, err
    assert (ARTIFACTS / "2-glasses-recording.png").stat().st_size > 10_000
