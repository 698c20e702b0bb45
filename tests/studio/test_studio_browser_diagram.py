"""The diagram and the clock in a real browser (Debian's headless Chromium through Selenium).

A designer starts capture and says "record a video": the `gesture.tap` edge leaving the lit `recording` state
is clickable on the inline diagram. The clock plays (x1) until the HUD's "Recording" toast shows and stands
still once paused; a click on the edge stops and saves the video, "Next timer" shows "Saved". On the
audio-only profile what is spoken is handed to the browser's speech synthesis. Screenshots in
out/test-artifacts/studio/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.studio import start_on_shipped_flows, stop_studio

HOSTILE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">'
    "<script>alert(2)</script><style>*{display:none}</style>"
    '<g id="t:a:0" class="edge" onclick="alert(3)" style="x"><a xlink:href="javascript:alert(4)" href="javascript:x">'
    '<text x="1" y="2">tap</text></a><foreignObject><iframe src="x"></iframe></foreignObject></g></svg>'
)
TAP_EDGE = '#diagram g.edge.clickable[class~="on:gesture.tap"]'


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def status(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.ID, "sim-status").text)


def say(driver: webdriver.Chrome, words: str) -> None:
    driver.find_element(By.ID, "utterance").send_keys(words)
    driver.find_element(By.CSS_SELECTOR, "#mic button[type=submit]").click()


def test_a_click_on_the_diagram_sends_its_event_and_the_clock_plays_and_pauses(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_on_shipped_flows(tmp_path)
    try:
        browser.get(url + "#capture")
        until(browser, "the inline diagram", lambda d: d.find_elements(By.CSS_SELECTOR, "#diagram svg g.edge"))
        assert not browser.find_elements(By.CSS_SELECTOR, "#diagram script, #diagram img")
        kept = browser.execute_script("return sanitisedSvg(arguments[0]).outerHTML", HOSTILE_SVG)
        assert "<g" in kept and "edge" in kept and "tap" in kept  # Graphviz's shapes and text stay
        for gone in ("script", "onclick", "onload", "href", "javascript", "foreignObject", "style", "iframe"):
            assert gone not in kept, (gone, kept)
        browser.find_element(By.ID, "sim-start").click()
        until(browser, "the photo taken", lambda d: status(d) == "capture ended: done")
        say(browser, "record a video")
        until(browser, "recording", lambda d: "recording" in status(d))
        edge = until(browser, "the tap edge lit as clickable", lambda d: d.find_elements(By.CSS_SELECTOR, TAP_EDGE))[0]
        title = edge.find_element(By.CSS_SELECTOR, "title").get_attribute("textContent")
        assert title == "click: send gesture.tap"
        assert edge.value_of_css_property("cursor") == "pointer"
        browser.save_screenshot(str(ARTIFACTS / "diagram-1-clickable-edge.png"))

        hud, clock = browser.find_element(By.ID, "hud"), browser.find_element(By.ID, "clock")
        browser.find_element(By.ID, "clock-play").click()  # x1: the toast's 2 s on screen are 2 s of wall time
        until(browser, "Pause offered", lambda d: d.find_element(By.ID, "clock-play").text == "Pause")
        until(browser, "the Recording toast as the clock plays", lambda d: "Recording" in hud.text)
        until(browser, "a few virtual seconds", lambda d: float(clock.text.split()[0]) >= 1.5)
        browser.save_screenshot(str(ARTIFACTS / "diagram-2-playing.png"))
        browser.find_element(By.ID, "clock-play").click()
        until(browser, "Play offered", lambda d: d.find_element(By.ID, "clock-play").text == "Play")
        stopped = clock.text
        time.sleep(0.6)
        assert clock.text == stopped  # paused: the clock stands still

        edge = browser.find_element(By.CSS_SELECTOR, TAP_EDGE)
        edge.find_element(By.CSS_SELECTOR, "text").click()  # the edge's label
        until(browser, "the tap to stop and save", lambda d: status(d) == "capture ended: done")
        assert browser.find_element(By.ID, "led").get_attribute("class") == "led"  # the recording stopped
        assert "gesture.tap" in browser.find_element(By.ID, "timeline").text
        browser.find_element(By.ID, "clock-next").click()  # the compositor's pause, exactly
        until(browser, "the Saved toast", lambda d: "Saved" in hud.text)
        # the toast is a command, the clock comes with the state message after it
        until(browser, "the clock at the timer", lambda d: float(clock.text.split()[0]) > float(stopped.split()[0]))

        # audio only: the glasses speak what a display would show, and the page reads it aloud
        Select(browser.find_element(By.ID, "profile")).select_by_value("audio-only")
        until(browser, "the restart", lambda d: "ended" in status(d))
        say(browser, "record a video")
        until(browser, "recording", lambda d: "recording" in status(d))
        browser.find_element(By.CSS_SELECTOR, 'button[data-ms="1000"]').click()
        spoken = until(browser, "speech queued", lambda d: d.execute_script("return controls.lastSpoken"))
        assert spoken["lang"] == "en-US" and spoken["text"]
        assert browser.execute_script("return controls.queued") >= 1
        browser.save_screenshot(str(ARTIFACTS / "diagram-3-audio-only.png"))

        # a playing clock whose simulation is gone offers Play again (it read "Pause" after the socket closed)
        browser.find_element(By.ID, "clock-play").click()
        until(browser, "Pause offered", lambda d: d.find_element(By.ID, "clock-play").text == "Pause")
        browser.execute_script("sim.socket.close()")
        until(
            browser, "Play offered once the socket closed", lambda d: d.find_element(By.ID, "clock-play").text == "Play"
        )
    finally:
        err = stop_studio(proc)
    assert proc.returncode == 0 and err == "", err
