"""Debian's headless Chromium through Selenium, for the studio's browser tests: the driver and a patient wait.

`make install` installs `chromium` and `chromium-driver`; screenshots go to out/test-artifacts/studio/ (or
$LENSFLOW_TEST_ARTIFACTS/studio) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from tests.support import ROOT

__all__ = ["ARTIFACTS", "chromium", "until"]

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("LENSFLOW_TEST_ARTIFACTS", ROOT / "out" / "test-artifacts")) / "studio"


def chromium() -> Iterator[webdriver.Chrome]:
    """A headless Chromium at 1600x1000, quit afterwards (use as the body of a fixture)."""
    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), (
        "Chromium is missing: make install (apt chromium chromium-driver)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1600,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def until(driver: webdriver.Chrome, what: str, check: Callable[[Any], Any], seconds: float = 20) -> Any:
    """Wait for `check(driver)` to be truthy and return it; fail saying what was awaited."""
    return WebDriverWait(driver, seconds).until(check, message=f"waited {seconds} s for {what}")
