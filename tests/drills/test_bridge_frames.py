"""Bridge frames: whatever a client sends over the WebSocket, each frame is answered or refused and the
server carries on, with no internal error, no traceback in its log and no silence.

One bridge serves every shipped flow on 127.0.0.1 (in a thread of this process, so
its log is read here); each example opens a connection, says hello (or something
that is not quite one), sends a random run of frames, and ends with a frame of an
unknown type that must be answered with UNKNOWN_TYPE: a server stuck on an earlier
frame never answers it, and that is a hang.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from devices.bridge.protocol import encode_binary
from devices.bridge.server import BridgeServer
from tests.drills.strategies import FLOW_IDS, events, events_for, json_values, shipped
from tests.drills.tally import FUZZ, examples, shown

REPLY_SECONDS = 5.0
_nonce = itertools.count(1)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info or "Traceback" in text or "internal error" in text or "failed" in text:
            self.bad.append(text)


@pytest.fixture(scope="module")
def bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, _Records]]:
    """A bridge with every shipped flow on a free port of 127.0.0.1, its loop in a thread."""
    from engine.runnable import load_runnable
    from skills.registry import skills_for_device

    mp = pytest.MonkeyPatch()
    mp.setenv("LENSFLOW_DATA", str(tmp_path_factory.mktemp("bridge-data")))
    flows = {}
    for flow in FLOW_IDS:
        compiled, main_id, _ = load_runnable(shipped(flow))
        flows[main_id] = compiled[main_id]
    records = _Records()
    loggers = [logging.getLogger("devices.bridge"), logging.getLogger("websockets")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.addHandler(records)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    server_bridge = BridgeServer(flows, skills=skills_for_device(), idle_expiry=2.0)
    server = asyncio.run_coroutine_threadsafe(server_bridge.start("127.0.0.1", 0), loop).result(10)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"ws://127.0.0.1:{port}", records
    finally:
        server.close()
        asyncio.run_coroutine_threadsafe(server.wait_closed(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(records)
            lg.setLevel(level)
        mp.undo()


hellos = st.one_of(
    st.builds(
        lambda flow, slots: {"type": "hello", "device": "drill", "flow": flow, "slots": slots},
        st.sampled_from(FLOW_IDS),
        st.dictionaries(st.sampled_from(["amount", "merchant", "question", "title", "x"]), json_values, max_size=3),
    ),
    st.builds(lambda flow: {"type": "hello", "device": "drill", "flow": flow}, st.sampled_from(FLOW_IDS)),
    st.dictionaries(
        st.sampled_from(["type", "device", "flow", "slots", "session", "token", "last_command"]), json_values
    ).map(lambda d: {"type": "hello", **d}),
)


def _event(seq: int, name: str, data: Any) -> str:
    return json.dumps({"type": "event", "seq": seq, "name": name, "data": data})


text_frames = st.one_of(
    st.builds(_event, st.integers(1, 40), st.sampled_from(FLOW_IDS).map(lambda _: "gesture.tap"), st.just({})),
    st.builds(lambda seq, e: _event(seq, e[0], e[1]), st.integers(1, 40), events),
    st.builds(
        lambda seq, name, data: _event(seq, name, data),
        st.integers(-5, 2000),
        st.sampled_from(["asr.transcript", "location.update", "user.utterance"]),
        st.sampled_from(["asr.transcript", "location.update", "user.utterance"]).flatmap(events_for),
    ),
    st.builds(lambda seq: json.dumps({"type": "ack", "seq": seq}), st.one_of(st.integers(-2, 50), json_values)),
    st.dictionaries(st.sampled_from(["type", "seq", "name", "data"]), json_values).map(json.dumps),
    st.sampled_from(['{"type": "event", "seq": 1, "name": "gesture.tap", "data": {"x": NaN}}', "[" * 3000, "{}", ""]),
    st.text(max_size=50),
)
binary_frames = st.one_of(
    st.builds(
        lambda header, payload: encode_binary(header, payload),
        st.one_of(
            st.fixed_dictionaries(
                {"type": st.just("audio"), "seq": st.integers(1, 40)},
                optional={"format": st.just("pcm_s16le_16k"), "end": st.booleans()},
            ),
            st.fixed_dictionaries({"type": st.just("image"), "seq": st.integers(1, 40), "format": st.just("png")}),
            st.dictionaries(st.sampled_from(["type", "seq", "end", "format"]), json_values),
        ),
        st.binary(max_size=2000),
    ),
    st.binary(max_size=64),
)
frames = st.lists(st.one_of(text_frames, text_frames, binary_frames), max_size=12)


def _until_reply(ws: Any, nonce: str) -> list[dict[str, Any]]:
    """Everything the server says until it answers the sentinel (or closes the connection)."""
    got: list[dict[str, Any]] = []
    while True:
        message = json.loads(ws.recv(timeout=REPLY_SECONDS))
        got.append(message)
        if message.get("type") == "error" and nonce in str(message.get("message")):
            return got


@examples(80)
@given(hello=hellos, sent=frames)
def test_any_frames_are_answered_and_the_server_carries_on(
    bridge: tuple[str, _Records], hello: dict[str, Any], sent: list[str | bytes]
) -> None:
    url, records = bridge
    tally = FUZZ["bridge_frame"]
    tally.inputs += 1 + len(sent)
    nonce = f"drill-sentinel-{next(_nonce)}"
    named = shown((hello, sent))
    before = len(records.bad)
    closed_with: int | None = None
    try:
        with connect(url, open_timeout=REPLY_SECONDS, close_timeout=2, max_size=None) as ws:
            ws.send(json.dumps(hello))
            first = json.loads(ws.recv(timeout=REPLY_SECONDS))
            if first.get("type") == "welcome":
                for frame in sent:
                    ws.send(frame)
                ws.send(json.dumps({"type": nonce}))
                _until_reply(ws, nonce)
            else:
                assert first.get("type") == "error", (first, named)
    except TimeoutError:
        tally.hangs += 1
        raise AssertionError(f"bridge_frame: no answer in {REPLY_SECONDS:.0f} s to input {named}") from None
    except ConnectionClosed as exc:
        closed_with = exc.rcvd.code if exc.rcvd is not None else None
    bad = records.bad[before:]
    if bad or closed_with == 1011:
        tally.tracebacks += 1
        raise AssertionError(f"bridge_frame: server error {bad or closed_with} on input {named}")
    assert closed_with in (None, 1000, 1008, 1009), (closed_with, named)


def test_the_drill_bridge_serves_a_plain_tap(bridge: tuple[str, _Records]) -> None:
    """The harness itself: a well-formed session is welcomed and its tap acknowledged."""
    url, _ = bridge
    with connect(url) as ws:
        ws.send(json.dumps({"type": "hello", "device": "plain", "flow": "translate"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "welcome"
        ws.send(_event(1, "gesture.tap", {}))
        replies: list[dict[str, Any]] = []
        while not any(r.get("type") == "ack" for r in replies):
            replies.append(json.loads(ws.recv(timeout=5)))
