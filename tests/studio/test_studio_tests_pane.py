"""The Tests pane's API on a real studio process: a flow's tests and exploration run from the page.

The studio serves a copy of the shipped flows with their tests; runs go through `cli.py test`'s runner and
`explore` in a child process, so these calls take seconds, not milliseconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.flows import shipped_flows
from tests.support.studio import running_studio

# a state nothing leads to: exploration can never reach it nor take its transition
ORPHAN = "  orphan:\n    on:\n      gesture.tap: done\n"


class Studio:
    def __init__(self, url: str, folder: Path) -> None:
        self.url = url
        self.folder = folder
        self.client = httpx.Client(base_url=url, timeout=120)

    def text(self, flow_id: str) -> str:
        text: str = self.client.get(f"/api/flows/{flow_id}").json()["text"]
        return text


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    root = tmp_path_factory.mktemp("studio-tests")
    folder = shipped_flows(root, tests=True)
    with running_studio(folder, {"LENSFLOW_DATA": str(root / "data")}) as url:
        served = Studio(url, folder)
        yield served
        served.client.close()


def _cases(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for f in answer["files"] for c in f["cases"]}


def test_a_flow_lists_the_test_files_that_name_it_and_each_reads_by_id(studio: Studio) -> None:
    listed = studio.client.get("/api/flows/capture/tests").json()
    assert [f["id"] for f in listed["files"]] == ["capture"]
    assert listed["files"][0]["file"] == "flows/tests/capture.yaml"
    first = listed["files"][0]["cases"][0]
    assert first == {"name": "a photo is taken with the privacy light on and saved", "line": 4}
    shown = studio.client.get("/api/tests/capture").json()
    assert shown["text"] == (studio.folder / "tests" / "capture.yaml").read_text(encoding="utf-8")
    assert shown["flow"] == "capture"


def test_the_saved_flow_passes_its_tests_and_a_second_run_meanwhile_is_refused(studio: Studio) -> None:
    answers: list[httpx.Response] = []

    def run() -> None:
        with httpx.Client(base_url=studio.url, timeout=120) as client:
            answers.append(client.post("/api/flows/capture/tests/run", json={}))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    refused, done = sorted(answers, key=lambda r: -r.status_code)
    assert (refused.status_code, done.status_code) == (409, 200)
    assert refused.json() == {"error": "tests or exploration of 'capture' are already running: wait for them"}
    answer = done.json()
    cases = _cases(answer)
    assert answer["failed"] == 0 and answer["passed"] == len(cases) == 10, answer
    assert all(c["failures"] == [] and c["seconds"] > 0 for c in cases.values())
    coverage = answer["coverage"]
    # the shipped tests never take the glasses off before the flow starts, nor fail to save a video
    assert coverage["transitions"] == 16 and coverage["covered"] == 12
    uncovered = {t["id"]: t for t in coverage["uncovered"]}
    assert set(uncovered) == {"choosing:0", "recording:4", "saving_video:1", "saving_video:2"}
    assert uncovered["choosing:0"]["line"] == 36
    assert coverage["unvisited_states"] == [{"state": "not_worn", "line": 86}]


def test_unsaved_text_that_breaks_a_case_fails_it_at_the_assertions_line(studio: Studio) -> None:
    saved = studio.text("capture")
    # the HUD says something else while recording, and a full storage while saving a photo is "not saved"
    text = saved.replace("text: Recording}", "text: Filming}").replace(
        "          target: storage_full\n        - target: not_saved\n  recording:",
        "          target: not_saved\n        - target: not_saved\n  recording:",
    )
    assert text.count("Filming") == 1 and text != saved
    answer = studio.client.post("/api/flows/capture/tests/run", json={"text": text}).json()
    cases = _cases(answer)
    assert answer["failed"] == 2, answer
    hud = cases["a video records until a tap and is saved"]
    assert hud["status"] == "failed"
    assert hud["failures"] == [
        {
            "file": "flows/tests/capture.yaml",
            "line": 28,
            "message": "hud_shows 'Recording': the display showed 'toast: Filming', 'toast: Saved'",
        }
    ]
    full = cases["a full storage is said, not hidden"]
    (failure,) = full["failures"]
    assert failure["line"] == 47 and "flow_completed" in failure["message"]
    assert failure["state"] == "storage_full" and failure["flow_line"] == 83  # the state in the flow file
    assert (studio.folder / "capture.yaml").read_text(encoding="utf-8") == saved  # the file is left alone


def test_text_that_cannot_run_is_refused_with_its_findings(studio: Studio) -> None:
    text = studio.text("capture").replace("target: storage_full", "target: storage_ful", 1)
    response = studio.client.post("/api/flows/capture/tests/run", json={"text": text})
    assert response.status_code == 422
    assert [f["rule"] for f in response.json()["findings"]] == ["unknown-target"]


def test_a_saved_file_that_cannot_run_is_refused_the_same_way(studio: Studio) -> None:
    broken = studio.folder / "broken.yaml"
    broken.write_text("flow: broken\nversion: 1\ninitial: a\nstates:\n  a: {always: nowhere}\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + 10
        while studio.client.get("/api/flows/broken/tests").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        response = studio.client.post("/api/flows/broken/explore", json={})
        assert response.status_code == 422
        findings = response.json()["findings"]
        assert [(f["rule"], f["line"]) for f in findings] == [("unknown-target", 5)]
    finally:
        broken.unlink()


def test_exploration_gives_coverage_and_the_diagram_draws_what_it_missed(studio: Studio) -> None:
    text = studio.text("capture").replace("  done:\n    type: final", ORPHAN + "  done:\n    type: final")
    answer = studio.client.post("/api/flows/capture/explore", json={"text": text}).json()
    coverage = answer["coverage"]
    assert coverage["transitions"] == 17 and coverage["covered"] == 16 and coverage["transition_coverage"] == 94.1
    assert [t["id"] for t in coverage["uncovered"]] == ["orphan:0"]
    assert coverage["unvisited_states"] == [{"state": "orphan", "line": 80}]
    assert answer["findings"] == [] and not answer["truncated"]

    plain = studio.client.post("/api/flows/capture/diagram", json={"text": text}).text
    marked = studio.client.post(
        "/api/flows/capture/diagram?uncovered=orphan:0&uncovered_states=orphan", json={"text": text}
    ).text
    assert "uncovered" not in plain
    edge = marked[marked.index('id="t:orphan:0"') :].split("</g>")[0]
    assert 'class="edge transition event uncovered"' in edge and 'stroke-dasharray="5,2"' in edge
    assert 'stroke="#c62828"' in edge
    assert 'class="node atomic uncovered"' in marked


def test_exploration_of_the_saved_flow_stops_at_the_budget_asked(studio: Studio) -> None:
    answer = studio.client.post("/api/flows/navigate/explore", json={"max_configurations": 3}).json()
    assert answer["max_configurations"] == 3 and answer["truncated"]
    assert answer["progress"].startswith("stopped at its bound: 3/3 configurations")
    assert answer["coverage"]["covered"] < answer["coverage"]["transitions"] == 49


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("GET", "/api/tests/..%2Fcapture", None, 404, "no such page"),
        ("GET", "/api/tests/%2E%2E%2Fflows%2Fcapture", None, 404, ""),
        ("GET", "/api/tests/nothing", None, 404, "no test file 'nothing'"),
        ("GET", "/api/flows/nothing/tests", None, 404, "no flow 'nothing'"),
        ("POST", "/api/flows/..%2Fcapture/tests/run", {}, 404, ""),
        ("POST", "/api/flows/capture/tests/run", [1], 400, "JSON object"),
        ("POST", "/api/flows/capture/tests/run", {"text": 3}, 400, "`text` must be a string"),
        ("POST", "/api/flows/capture/explore", {"max_configurations": 10**9}, 400, "from 1 to 20000"),
        ("POST", "/api/flows/capture/explore", {"max_configurations": "all"}, 400, "whole number"),
        ("GET", "/api/flows/capture/diagram.svg?uncovered=" + "a" * 10_001, None, 400, "over 10000"),
    ],
)
def test_hostile_ids_and_bodies_get_one_line(
    studio: Studio, method: str, path: str, body: Any, status: int, says: str
) -> None:
    response = studio.client.request(method, path, json=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert says in error and "\n" not in error


def test_a_test_file_that_is_not_yaml_yet_fails_the_run_at_its_line(studio: Studio) -> None:
    flow, tests = studio.folder / "tiny.yaml", studio.folder / "tests" / "tiny.yaml"
    flow.write_text("flow: tiny\nversion: 1\ninitial: a\nstates:\n  a: {type: final}\n", encoding="utf-8")
    tests.write_text("flow: tiny\ntests:\n  - name: [half\n", encoding="utf-8")
    try:
        deadline = time.monotonic() + 10
        while studio.client.get("/api/flows/tiny/tests").status_code == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert studio.client.get("/api/flows/tiny/tests").json()["files"] == [
            {"id": "tiny", "file": "flows/tests/tiny.yaml", "cases": []}
        ]
        answer = studio.client.post("/api/flows/tiny/tests/run", json={}).json()
        assert answer["failed"] == 1 and answer["passed"] == 0
        (file,) = answer["files"]
        assert file["error"].startswith("flows/tests/tiny.yaml:3:11: the `[` opened here is never closed")
        assert file["cases"] == []
    finally:
        flow.unlink()
        tests.unlink()


def test_test_files_in_subfolders_of_tests_are_listed_read_and_run(studio: Studio) -> None:
    """As `cli.py test` finds them (recursively); a subfolder's file names its flow by path or by id."""
    nested = studio.folder / "tests" / "more" / "deeper"
    nested.mkdir(parents=True)
    deep = nested / "capture.yaml"  # the same stem as tests/capture.yaml: its id tells them apart
    source = (studio.folder / "tests" / "capture.yaml").read_text(encoding="utf-8")
    first_case = source.split("\n\n  - name:")[0] + "\n"
    deep.write_text(first_case.replace("flow: capture\n", "flow: ../../../capture.yaml\n"), encoding="utf-8")
    by_id = nested / "by_id.yaml"  # an id in a subfolder is looked up beside tests/, as `cli.py test` does
    by_id.write_text(first_case, encoding="utf-8")
    try:
        listed = studio.client.get("/api/flows/capture/tests").json()["files"]
        assert [(f["id"], f["file"]) for f in listed] == [
            ("capture", "flows/tests/capture.yaml"),
            ("by_id", "flows/tests/more/deeper/by_id.yaml"),
            ("more.deeper.capture", "flows/tests/more/deeper/capture.yaml"),
        ]
        assert listed[2]["cases"] == [{"name": "a photo is taken with the privacy light on and saved", "line": 4}]
        shown = studio.client.get("/api/tests/more.deeper.capture").json()
        assert shown["text"] == deep.read_text(encoding="utf-8") and shown["flow"] == "../../../capture.yaml"
        for hostile in ("more/deeper/capture", "..%2Fcapture", "more.deeper", "deeper.capture"):
            assert studio.client.get(f"/api/tests/{hostile}").status_code == 404, hostile
        answer = studio.client.post("/api/flows/capture/tests/run", json={}).json()
        assert [(f["id"], f["error"]) for f in answer["files"]] == [
            ("capture", None),
            ("by_id", None),
            ("more.deeper.capture", None),
        ]
        assert answer["failed"] == 0 and answer["passed"] == 12, answer
    finally:
        deep.unlink()
        by_id.unlink()
        nested.rmdir()
        nested.parent.rmdir()
