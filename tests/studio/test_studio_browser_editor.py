"""The editor's help in a real browser (Debian's headless Chromium through Selenium): a typo is underlined,
hovering it says why, its Fix button mends it; Ctrl-Space after `on:` lists the events and Enter writes one;
typing in a `{{ }}` offers the flow's slots; New flow makes a flow and opens it. Screenshots go to
out/test-artifacts/studio/ (or $LENSFLOW_TEST_ARTIFACTS).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from tests.support.browser import ARTIFACTS, chromium, until
from tests.support.flows import shipped_flows
from tests.support.studio import start_studio, stop_studio

TAP = "      gesture.tap: stopping"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    yield from chromium()


def _value(text: WebElement) -> str:
    return str(text.get_property("value") or "")


def _put_caret(driver: webdriver.Chrome, text: WebElement, start: int, end: int) -> None:
    driver.execute_script("arguments[0].focus(); arguments[0].setSelectionRange(arguments[1], arguments[2]);", text,
                          start, end)  # fmt: skip


def _labels(driver: webdriver.Chrome) -> list[str]:
    """The completion list's labels, read in one go (the list is redrawn as the caret's word grows)."""
    found: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('.completions li .label')].map((e) => e.textContent);"
    )
    return found


def test_underline_fix_completion_and_a_new_flow_in_chromium(browser: webdriver.Chrome, tmp_path: Path) -> None:
    folder = shipped_flows(tmp_path)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, url = start_studio(folder)
    try:
        browser.get(url + "#capture")
        text = browser.find_element(By.ID, "text")
        until(browser, "capture in the editor", lambda d: "flow: capture" in _value(text))
        until(browser, "its check", lambda d: d.find_element(By.ID, "count").text == "none")

        # a typo in a target: underlined where it is, hover says why, Fix mends it
        at = _value(text).index(TAP) + len(TAP) - len("stopping")
        _put_caret(browser, text, at, at + len("stopping"))
        text.send_keys("stoping")
        until(browser, "the finding", lambda d: "'stoping'" in d.find_element(By.ID, "findings").text)
        squiggle = until(browser, "the underline", lambda d: d.find_elements(By.CSS_SELECTOR, ".squiggle.error"))[0]
        assert squiggle.text == "stoping"
        mark = browser.find_element(By.CSS_SELECTOR, "#gutter span.error")
        assert "did you mean 'stopping'?" in str(mark.get_attribute("title"))  # the gutter mark says it too
        ActionChains(browser).move_to_element(squiggle).perform()
        tip = browser.find_element(By.CSS_SELECTOR, ".hover-tip")
        until(browser, "the hover help", lambda d: tip.is_displayed() and "did you mean 'stopping'" in tip.text)
        assert "Change to 'stopping'" in tip.text
        browser.save_screenshot(str(ARTIFACTS / "editor-1-underline-and-hover.png"))
        fix = browser.find_element(By.CSS_SELECTOR, "#findings li button.fix")
        assert fix.get_attribute("title") == "Change to 'stopping'"
        fix.click()
        until(browser, "the finding gone", lambda d: d.find_element(By.ID, "count").text == "none")
        assert TAP in _value(text) and not browser.find_elements(By.CSS_SELECTOR, ".squiggle")

        # Ctrl-Space after `on:` lists the events; Down, Enter writes one on a new line under it
        on = _value(text).index("    on:\n" + TAP) + len("    on:")
        _put_caret(browser, text, on, on)
        ActionChains(browser).key_down(Keys.CONTROL).send_keys(" ").key_up(Keys.CONTROL).perform()
        menu = browser.find_element(By.CSS_SELECTOR, ".completions")
        until(browser, "the event list", lambda d: menu.is_displayed() and "gesture.double_tap" in menu.text)
        labels = _labels(browser)
        assert "gesture.tap" not in labels  # already handled in this state
        browser.save_screenshot(str(ARTIFACTS / "editor-2-completion.png"))
        text.send_keys(Keys.ARROW_DOWN, Keys.ENTER)
        chosen = labels[1]
        until(browser, "the event written", lambda d: f"    on:\n      {chosen}: \n{TAP}" in _value(text))
        # a key written: its values (the states) are offered next; type one and Tab takes it
        until(browser, "the states offered", lambda d: menu.is_displayed() and "saving_photo" in menu.text)
        text.send_keys("sav")
        until(
            browser,
            "the list filtered",
            lambda d: _labels(d)[:1] == ["saving_photo"],
        )
        text.send_keys(Keys.TAB)
        until(browser, "the state written", lambda d: f"      {chosen}: saving_photo\n" in _value(text))
        until(browser, "its check", lambda d: d.find_element(By.ID, "count").text == "none")

        # typing inside a `{{ }}` offers the roots, then after `slots.` the flow's slots; Enter writes one
        toast = _value(text).index("text: Recording}") + len("text: ")
        _put_caret(browser, text, toast, toast + len("Recording"))
        text.send_keys('"Recording {{ s')
        until(browser, "the roots offered", lambda d: menu.is_displayed() and "slots" in _labels(d))
        text.send_keys("lots.")
        until(browser, "the slots offered", lambda d: menu.is_displayed() and _labels(d) == ["mode"])
        assert "enum: Photo or video" in menu.text
        browser.save_screenshot(str(ARTIFACTS / "editor-3-template-completion.png"))
        text.send_keys(Keys.ENTER)
        until(browser, "the slot written", lambda d: 'text: "Recording {{ slots.mode}' in _value(text))
        text.send_keys(' }}"')
        until(browser, "its check", lambda d: d.find_element(By.ID, "count").text == "none")
        assert 'text: "Recording {{ slots.mode }}"}' in _value(text)

        # New flow: asks for an id, writes the flow and its test, lists it and opens it
        browser.execute_script("window.confirm = () => true;")  # drop the unsaved edits of capture
        browser.find_element(By.ID, "new-flow").click()
        prompt = until(browser, "the id prompt", lambda d: d.switch_to.alert)
        prompt.send_keys("show_note")
        prompt.accept()
        until(browser, "the new flow open", lambda d: "flow: show_note" in _value(text))
        until(browser, "it listed", lambda d: d.find_elements(By.CSS_SELECTOR, "#flows li[data-id=show_note]"))
        assert (folder / "show_note.yaml").is_file() and (folder / "tests" / "show_note.yaml").is_file()
        until(browser, "its check", lambda d: d.find_element(By.ID, "count").text == "none")
        browser.save_screenshot(str(ARTIFACTS / "editor-4-new-flow.png"))
    finally:
        err = stop_studio(proc)
    assert proc.returncode == 0 and err == "", err
