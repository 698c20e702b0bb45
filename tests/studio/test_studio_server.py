"""`cli.py studio` end to end over HTTP and WebSocket: a real server process on a copy of the shipped flows."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support import ROOT
from tests.support.cli import assert_one_line_usage_error, run_cli
from tests.support.studio import start_studio, stop_studio


class Studio:
    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.client = httpx.Client(base_url=url, timeout=30)


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    folder = tmp_path_factory.mktemp("studio") / "flows"
    folder.mkdir()
    for flow in (ROOT / "flows").glob("*.yaml"):
        shutil.copy2(flow, folder / flow.name)
    shutil.copytree(ROOT / "flows" / "tests", folder / "tests")
    proc, url = start_studio(folder)
    served = Studio(url, folder)
    try:
        yield served
    finally:
        served.client.close()
        err = stop_studio(proc)
        assert proc.returncode == 0 and err == "", err  # Ctrl-C: a clean stop, nothing to say


def _text(studio: Studio, flow_id: str) -> tuple[str, str]:
    body = studio.client.get(f"/api/flows/{flow_id}").json()
    return body["text"], body["version"]


def test_the_list_names_every_served_flow_with_its_counts(studio: Studio) -> None:
    listed = studio.client.get("/api/flows").json()
    by_id = {entry["id"]: entry for entry in listed}
    assert set(by_id) == {p.stem for p in studio.folder.glob("*.yaml")}
    pay = by_id["glance_pay"]
    assert pay == {"id": "glance_pay", "file": "flows/glance_pay.yaml", "title": "Glance to pay", "errors": 0,
                   "warnings": 0}  # fmt: skip


def test_a_file_that_does_not_parse_is_listed_by_its_stem_with_its_errors(studio: Studio) -> None:
    broken = studio.folder / "half_written.yaml"
    broken.write_text("flow: half\nstates: [\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            by_id = {e["id"]: e for e in studio.client.get("/api/flows").json()}
            if "half_written" in by_id:
                break
            time.sleep(0.2)
        assert by_id["half_written"]["errors"] == 1 and by_id["half_written"]["file"] == "flows/half_written.yaml"
    finally:
        broken.unlink()


def test_a_typo_in_a_target_is_found_at_its_line_and_the_file_is_left_alone(studio: Studio) -> None:
    text, _ = _text(studio, "navigate")
    on_disk = (studio.folder / "navigate.yaml").read_bytes()
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if re.match(r"\s+target: \w+\s*$", line))
    lines[at] = re.sub(r"target: \w+", "target: dne", lines[at])
    reply = studio.client.post("/api/flows/navigate/check", json={"text": "\n".join(lines)})
    assert reply.status_code == 200
    found = [f for f in reply.json()["findings"] if f["rule"] == "unknown-target"]
    assert len(found) == 1 and found[0]["line"] == at + 1 and found[0]["severity"] == "error"
    assert "'dne'" in found[0]["message"] and found[0]["column"] == lines[at].index("dne") + 1
    assert (studio.folder / "navigate.yaml").read_bytes() == on_disk
    # the unchanged text has no finding: the finding came from the typo
    assert studio.client.post("/api/flows/navigate/check", json={"text": text}).json() == {"findings": []}


def test_check_sees_the_other_flows_of_the_folder(studio: Studio) -> None:
    """The folder is the project: a trigger phrase another served flow already owns is reported."""
    text, _ = _text(studio, "translate")
    other = (studio.folder / "ask.yaml").read_text(encoding="utf-8")
    phrase = re.search(r"phrases: \[\"?([^\",\]]+)", other)
    assert phrase is not None
    clashing = re.sub(r"phrases: \[", f'phrases: ["{phrase.group(1)}", ', text, count=1)
    findings = studio.client.post("/api/flows/translate/check", json={"text": clashing}).json()["findings"]
    assert [f for f in findings if "also starts flow 'ask'" in f["message"]], findings


def test_save_writes_and_a_save_from_an_old_version_is_a_conflict(studio: Studio) -> None:
    text, version = _text(studio, "teleprompter")
    edited = text.replace("title:", "# saved from the studio\ntitle:", 1)
    reply = studio.client.put("/api/flows/teleprompter", json={"text": edited, "version": version})
    assert reply.status_code == 200, reply.text
    saved = reply.json()
    assert saved["version"] != version and saved["findings"] == []
    assert (studio.folder / "teleprompter.yaml").read_text(encoding="utf-8") == edited
    assert not [p for p in studio.folder.iterdir() if p.name.endswith(".tmp")]
    again = studio.client.put("/api/flows/teleprompter", json={"text": text, "version": version})
    assert again.status_code == 409
    message = again.json()["error"]
    assert "\n" not in message and "changed on disk" in message
    assert (studio.folder / "teleprompter.yaml").read_text(encoding="utf-8") == edited
    assert _text(studio, "teleprompter") == (edited, saved["version"])


def test_an_edit_made_outside_is_pushed_on_the_event_socket(studio: Studio) -> None:
    async def watch() -> dict[str, str]:
        async with websockets.connect(studio.url.replace("http://", "ws://") + "api/events") as socket:
            path = studio.folder / "capture.yaml"
            path.write_text(path.read_text(encoding="utf-8") + "\n# edited elsewhere\n", encoding="utf-8")
            _text(studio, "capture")  # a page reading it before the next poll must not swallow the news
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 5))
                if message["id"] == "capture":
                    return dict(message)

    started = time.monotonic()
    message = asyncio.run(watch())
    assert message["type"] == "changed" and time.monotonic() - started < 5
    assert message["version"] == _text(studio, "capture")[1]


def test_a_save_from_one_page_is_pushed_to_the_others(studio: Studio) -> None:
    async def watch() -> dict[str, str]:
        async with websockets.connect(studio.url.replace("http://", "ws://") + "api/events") as socket:
            text, version = _text(studio, "read_text")
            async with httpx.AsyncClient(base_url=studio.url) as client:
                reply = await client.put("/api/flows/read_text", json={"text": text + "# saved\n", "version": version})
            assert reply.status_code == 200
            while True:
                message = json.loads(await asyncio.wait_for(socket.recv(), 5))
                if message["id"] == "read_text":
                    return {**message, "saved": reply.json()["version"]}

    message = asyncio.run(watch())
    assert message["type"] == "changed" and message["version"] == message["saved"]


def test_a_new_file_in_a_served_folder_is_pushed_as_added(studio: Studio) -> None:
    async def watch() -> list[dict[str, str]]:
        seen = []
        async with websockets.connect(studio.url.replace("http://", "ws://") + "api/events") as socket:
            copy = studio.folder / "ask_copy.yaml"
            copy.write_text((studio.folder / "ask.yaml").read_text(encoding="utf-8"), encoding="utf-8")
            seen.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
            copy.unlink()
            seen.append(json.loads(await asyncio.wait_for(socket.recv(), 5)))
        return seen

    added, removed = asyncio.run(watch())
    # its `flow: ask` is taken by ask.yaml: the copy goes by its file stem
    assert added["type"] == "added" and added["id"] == "ask_copy"
    assert removed == {"type": "removed", "id": "ask_copy"}


def test_the_diagram_is_svg_of_the_file_or_of_unsaved_text(studio: Studio) -> None:
    reply = studio.client.get("/api/flows/glance_pay/diagram.svg")
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in reply.content and b"confirm" in reply.content
    text, _ = _text(studio, "ask")
    drawn = studio.client.post(
        "/api/flows/ask/diagram",
        json={"text": text.replace("states:", "states:\n  studio_only_state: {type: final}", 1)},
    )
    assert drawn.status_code == 200 and b"studio_only_state" in drawn.content
    broken = studio.client.post("/api/flows/ask/diagram", json={"text": "flow: ask\nstates: ["})
    assert broken.status_code == 422 and broken.json()["findings"][0]["rule"] == "yaml-syntax"


@pytest.mark.parametrize(
    "path",
    ["/api/flows/nope", "/api/flows/nope/diagram.svg", "/api/flows/..%2F..%2Fpyproject", "/api/flows/..%2Fflows%2Fask",
     "/api/flows/%2E%2E/check", "/api/flows/%2Fetc%2Fpasswd"],
)  # fmt: skip
def test_an_unknown_id_or_a_path_is_a_json_404_and_touches_nothing(studio: Studio, path: str) -> None:
    outside = studio.folder.parent / "pyproject.yaml"
    outside.write_text("flow: outside\nstates: {}\n", encoding="utf-8")
    before = sorted(p.name for p in studio.folder.parent.rglob("*"))
    for method in ("GET", "POST", "PUT"):
        reply = studio.client.request(method, path, json={"text": "flow: x\n", "version": "0"})
        assert reply.status_code in (404, 405), (method, reply.status_code)
        if reply.status_code == 404:
            assert set(reply.json()) == {"error"}
    assert sorted(p.name for p in studio.folder.parent.rglob("*")) == before
    assert outside.read_text(encoding="utf-8") == "flow: outside\nstates: {}\n"


def test_bad_and_oversized_bodies_are_refused_in_one_line(studio: Studio) -> None:
    for body in (b"not json", b"[1]", b'{"text": 3}'):
        reply = studio.client.post("/api/flows/ask/check", content=body)
        assert reply.status_code == 400 and "\n" not in reply.json()["error"]
    big = studio.client.post("/api/flows/ask/check", json={"text": "#" * 1_100_000})
    assert big.status_code == 413
    missing_version = studio.client.put("/api/flows/ask", json={"text": "flow: ask\n"})
    assert missing_version.status_code == 400 and "version" in missing_version.json()["error"]


def test_a_page_of_another_site_or_another_host_name_is_refused(studio: Studio) -> None:
    foreign = studio.client.post("/api/flows/ask/check", json={"text": ""}, headers={"Origin": "http://evil.test"})
    assert foreign.status_code == 403
    rebound = studio.client.get("/api/flows", headers={"Host": "evil.test"})
    assert rebound.status_code == 403
    assert studio.client.get("/api/flows", headers={"Origin": studio.url.rstrip("/")}).status_code == 200


def test_the_page_and_its_files_fetch_nothing_from_elsewhere(studio: Studio) -> None:
    page = studio.client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'none'" in page.headers["content-security-policy"]
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sorted(linked) == [
        "/static/editor_help.css",
        "/static/editor_help.js",
        "/static/glasses.js",
        "/static/glasses_controls.js",
        "/static/studio.css",
        "/static/studio.js",
        "/static/tests_pane.css",
        "/static/tests_pane.js",
        "/static/timeline.js",
    ]
    for text in (page.text, *(studio.client.get(url).text for url in linked)):
        assert not re.search(r"https?://", text)
    static = ROOT / "studio" / "static"
    for path in static.iterdir():
        assert not re.search(r"https?://", path.read_text(encoding="utf-8")), path


def test_a_host_other_machines_reach_needs_allow_remote() -> None:
    proc = run_cli("studio", "--host", "0.0.0.0", "--port", "0")
    line = assert_one_line_usage_error(proc, "--allow-remote")
    assert "writes" in line
    assert proc.stdout == ""


def test_a_missing_folder_or_a_busy_port_is_one_line() -> None:
    assert_one_line_usage_error(run_cli("studio", "no_such_folder"), "no_such_folder: no such file or folder")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("studio", "--port", str(port))
    assert_one_line_usage_error(proc, f"cannot listen on 127.0.0.1:{port} (Address already in use)")
