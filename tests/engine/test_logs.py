"""The log format every long-running command shares: one line a record, plain or JSON, fields kept."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest

from engine.logs import PACKAGES, log_settings, session_ref, setup_logging
from engine.settings import SettingsError


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The project's records at DEBUG into a string; the handler is taken away afterwards."""
    stream = io.StringIO()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    setup_logging(logging.DEBUG, as_json=True, stream=stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in PACKAGES:
        logging.getLogger(name).setLevel(logging.NOTSET)


def test_a_json_line_carries_ts_level_logger_msg_and_the_fields_given(logged: io.StringIO) -> None:
    log = logging.getLogger("skills.payments.journal")
    log.info("payment %s", "charged", extra={"out_trade_no": "LF1", "amount": Decimal("12.50"), "told": False})
    try:
        raise ValueError("the wearer's words\nand a second line")
    except ValueError:
        logging.getLogger("devices.bridge.server").exception("frame failed")
    logging.getLogger("some.library").info("not ours: below the level other libraries log at")
    first, second = [json.loads(line) for line in logged.getvalue().splitlines()]
    assert list(first) == ["ts", "level", "logger", "msg", "out_trade_no", "amount", "told"]
    assert first["ts"].endswith("Z") and len(first["ts"]) == len("2026-12-03T12:20:19.862Z")
    assert (first["level"], first["logger"], first["msg"]) == ("info", "skills.payments.journal", "payment charged")
    assert (first["amount"], first["told"]) == ("12.50", False)  # an amount as a decimal, never a float
    assert second["error"] == "ValueError: the wearer's words" and "Traceback" not in logged.getvalue()


def test_a_plain_line_is_one_line_whatever_a_device_sends() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers)
    setup_logging(logging.INFO, as_json=False, stream=stream)
    try:
        logging.getLogger("devices.bridge.server").info(
            "hello refused:\nforged", extra={"code": "BAD_HELLO", "device": "g1\nlevel=ERROR"}
        )
    finally:
        root.handlers[:] = before
        for name in PACKAGES:
            logging.getLogger(name).setLevel(logging.NOTSET)
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(r'devices.bridge.server: hello refused:\nforged code=BAD_HELLO device="g1\nlevel=ERROR"')


def test_setting_up_twice_replaces_the_handler_and_leaves_others_alone(logged: io.StringIO) -> None:
    ours = [h for h in logging.getLogger().handlers if getattr(h, "stream", None) is logged]
    setup_logging(logging.INFO, as_json=True, stream=logged)
    assert len([h for h in logging.getLogger().handlers if getattr(h, "stream", None) is logged]) == len(ours) == 1


def test_flags_win_over_the_environment_which_wins_over_the_default() -> None:
    env = {"LENSFLOW_LOG_LEVEL": "debug", "LENSFLOW_LOG_JSON": "yes"}
    assert log_settings(None, None, "info", env) == (logging.DEBUG, True)
    assert log_settings("error", None, "info", env) == (logging.ERROR, True)
    assert log_settings(None, None, "warning", {}) == (logging.WARNING, False)
    with pytest.raises(SettingsError, match="LENSFLOW_LOG_JSON: 'maybe' is neither on"):
        log_settings(None, None, "info", {"LENSFLOW_LOG_JSON": "maybe"})
    with pytest.raises(SettingsError, match="LENSFLOW_LOG_LEVEL: 'verbose' is not a log level"):
        log_settings(None, None, "info", {"LENSFLOW_LOG_LEVEL": "verbose"})


def test_a_session_is_named_by_a_prefix_too_short_to_claim_it() -> None:
    assert session_ref("Ab3xK9_qRt7uVw2yZ0aBc1dE") == "Ab3xK9_q"
