"""The editor's help over HTTP: spans and fixes on findings, completion, hover and a new flow, on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.flows import shipped_flows
from tests.support.studio import start_studio, stop_studio


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, Path]]:
    folder = shipped_flows(tmp_path_factory.mktemp("studio_help"))
    proc, url = start_studio(folder)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            yield http, folder
    finally:
        err = stop_studio(proc)
        assert proc.returncode == 0 and err == "", err


def _capture(http: httpx.Client) -> str:
    text: str = http.get("/api/flows/capture").json()["text"]
    return text


def _caret(text: str, marker: str) -> tuple[str, int, int]:
    """`text` without `marker`, and the line and column where it was."""
    index = text.index(marker)
    before = text[:index]
    return text.replace(marker, "", 1), before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def _labels(http: httpx.Client, text: str, marker: str = "|") -> list[str]:
    text, line, column = _caret(text, marker)
    answer = http.post("/api/flows/capture/complete", json={"text": text, "line": line, "column": column})
    assert answer.status_code == 200, answer.text
    return [item["label"] for item in answer.json()["items"]]


def test_a_finding_spans_the_typo_and_its_fix_clears_it(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    text = _capture(http).replace("gesture.tap: stopping", "gesture.tap: stoping", 1)
    (finding,) = http.post("/api/flows/capture/check", json={"text": text}).json()["findings"]
    line = text.split("\n")[finding["line"] - 1]
    assert line[finding["column"] - 1 : finding["end_column"] - 1] == "stoping"
    fix = finding["fix"]
    assert fix["title"] == "Change to 'stopping'"
    span = fix["replace"]
    lines = text.split("\n")
    lines[span["line"] - 1] = line[: span["column"] - 1] + span["text"] + line[span["end_column"] - 1 :]
    assert http.post("/api/flows/capture/check", json={"text": "\n".join(lines)}).json()["findings"] == []


def test_keys_values_and_names_are_completed_where_they_fit(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    text = _capture(http)
    # `on:` keys are events; a transition's value is a state of this flow
    assert "gesture.double_tap" in _labels(http, text.replace("      gesture.tap: stopping", "      gesture.|", 1))
    states = _labels(http, text.replace("gesture.tap: stopping", "gesture.tap: |", 1))
    assert {"stopping", "choosing", "saving_photo", "done"} <= set(states) and "gesture.tap" not in states
    assert _labels(http, text.replace("gesture.tap: stopping", "gesture.tap: sto|", 1))[0] == "stopping"
    # keys a state may have that it has not: `on` is written in `recording`, so it is not offered again
    state_keys = _labels(
        http, text.replace("    on:\n      gesture.tap: stopping", "    |\n    on:\n      gesture.tap: stopping", 1)
    )
    assert {"invoke", "always", "exit"} <= set(state_keys) and "on" not in state_keys and "entry" not in state_keys
    # skills for `skill:`, actions in `entry:`, the catalogue's layouts in hud.show, enum values
    assert _labels(http, text.replace("skill: media.save", "skill: media.|", 1)) == ["media.save"]
    assert _labels(http, text.replace("- camera.record_start:", "- camera.rec|", 1)) == [
        "camera.record_start",
        "camera.record_stop",
    ]
    assert _labels(http, text.replace("layout: toast, text: Recording", "layout: to|", 1)) == ["toast"]
    # an invoke's `with:` takes its skill's input: media.save's `kind` is photo or video
    assert _labels(http, text.replace("kind: photo,", "kind: |", 1)) == ["photo", "video"]
    assert "location" in _labels(http, text.replace("kind: photo,", "|", 1))
    assert _labels(http, "flow: x\nstates:\n  a:\n    type: |\n") == [
        "atomic",
        "compound",
        "final",
        "history",
        "parallel",
    ]


def test_completion_works_on_text_that_does_not_parse(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    broken = _capture(http).replace("gesture.tap: stopping", 'gesture.tap: "stopping\n      head.|', 1)
    broken = broken.replace('      gesture.tap: "stopping\n', "      gesture.tap: [stopping\n", 1)
    check = http.post("/api/flows/capture/check", json={"text": broken.replace("|", "")}).json()["findings"]
    assert [f["rule"] for f in check] == ["yaml-syntax"]
    assert {"head.nod", "head.shake"} <= set(_labels(http, broken))
    # Ctrl-Space right after `on:`: the events, each on a new line under it
    text, line, column = _caret("flow: x\nstates:\n  a:\n    on:|\n", "|")
    items = http.post("/api/flows/capture/complete", json={"text": text, "line": line, "column": column}).json()
    tap = next(i for i in items["items"] if i["label"] == "gesture.tap")
    assert tap["insert"] == "\n      gesture.tap: " and tap["kind"] == "event"
    assert items["range"] == {"line": 4, "column": 8, "end_line": 4, "end_column": 8}


def test_hover_tells_what_a_key_an_event_a_state_or_a_skill_is(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    text = _capture(http)

    def about(marker_text: str) -> dict[str, object]:
        plain, line, column = _caret(marker_text, "|")
        answer = http.post("/api/flows/capture/hover", json={"text": plain, "line": line, "column": column})
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body

    event = about(text.replace("gesture.tap: stopping", "gesture.t|ap: stopping", 1))
    assert event["contents"] == "event `gesture.tap`: Single tap on the temple touchpad."
    line = text.split("\n").index("      gesture.tap: stopping") + 1
    assert event["range"] == {"line": line, "column": 7, "end_line": line, "end_column": 18}
    assert str(about(text.replace("gesture.tap: stopping", "gesture.tap: stop|ping", 1))["contents"]).startswith(
        "state `stopping` (atomic, line "
    )
    assert (
        about(text.replace("    entry:\n      - camera.record_start", "    en|try:\n      - camera.record_start", 1))[
            "contents"
        ]
        == "`entry`: Actions run when the state is entered."
    )
    assert "Save a photo or video" in str(about(text.replace("skill: media.save", "skill: media.s|ave", 1))["contents"])
    assert about(text.replace("version: 1", "version: 1 |  ", 1)) == {"contents": None}


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"text": "flow: x", "line": 10**12, "column": 1}, "`line` 1000000000000 is outside the text (1 to 1)"),
        ({"text": "flow: x", "line": 0, "column": 1}, "`line` 0 is outside the text (1 to 1)"),
        ({"text": "flow: x", "line": 1, "column": 9}, "`column` 9 is outside the text (1 to 8)"),
        ({"text": "flow: x", "line": "1", "column": 1}, "the body needs `line` as a whole number (from 1)"),
        ({"text": "flow: x", "line": 1, "column": True}, "the body needs `column` as a whole number (from 1)"),
        ({"text": "flow: x", "line": 1.5, "column": 1}, "the body needs `line` as a whole number (from 1)"),
        ({"text": ["flow: x"], "line": 1, "column": 1}, "the body needs `text` as a string"),
        ({"line": 1, "column": 1}, "the body needs `text` as a string"),
    ],
)
@pytest.mark.parametrize("call", ["complete", "hover"])
def test_a_caret_that_is_not_in_the_text_is_one_line_400(
    client: tuple[httpx.Client, Path], call: str, body: dict[str, object], said: str
) -> None:
    http, _ = client
    answer = http.post(f"/api/flows/capture/{call}", json=body)
    assert (answer.status_code, answer.json()) == (400, {"error": said})


def test_help_for_a_flow_not_served_is_404(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    answer = http.post("/api/flows/nope/complete", json={"text": "", "line": 1, "column": 1})
    assert (answer.status_code, answer.json()) == (404, {"error": "no flow 'nope' is served here"})
    assert http.post("/api/flows/capture/hover", content=b"[1]").json() == {"error": "the body must be a JSON object"}


def test_a_new_flow_is_written_as_lensflow_new_writes_it_served_and_valid(client: tuple[httpx.Client, Path]) -> None:
    http, folder = client
    made = http.post("/api/flows", json={"id": "show_note"})
    assert made.status_code == 201, made.text
    assert made.json()["id"] == "show_note" and made.json()["file"].endswith("show_note.yaml")
    assert (folder / "tests" / "show_note.yaml").is_file()
    assert "show_note" in [f["id"] for f in http.get("/api/flows").json()]
    text = http.get("/api/flows/show_note").json()["text"]
    assert text == (folder / "show_note.yaml").read_text(encoding="utf-8") and "flow: show_note\n" in text
    assert http.post("/api/flows/show_note/check", json={"text": text}).json()["findings"] == []
    again = http.post("/api/flows", json={"id": "show_note"})
    assert again.status_code == 409 and again.json()["error"].startswith("a flow 'show_note' is already served")


@pytest.mark.parametrize("bad", ["Show", "../evil", "a b", "", 7, None, "x" * 100])
def test_a_new_flow_with_a_bad_id_is_refused_and_nothing_written(
    client: tuple[httpx.Client, Path], bad: object
) -> None:
    http, folder = client
    before = sorted(p.name for p in folder.rglob("*"))
    answer = http.post("/api/flows", json={"id": bad})
    assert answer.status_code == 400
    assert answer.json()["error"].endswith("is not a flow id: use lower case letters, digits and _ (e.g. show_note)")
    assert "\n" not in answer.json()["error"] and sorted(p.name for p in folder.rglob("*")) == before


def test_a_new_flow_over_a_file_that_is_there_is_a_conflict(client: tuple[httpx.Client, Path]) -> None:
    http, folder = client
    (folder / "tests").mkdir(exist_ok=True)
    (folder / "tests" / "kept.yaml").write_text("# someone's test\n", encoding="utf-8")
    answer = http.post("/api/flows", json={"id": "kept"})
    assert answer.status_code == 409 and answer.json()["error"].endswith("kept.yaml already exists")
    assert not (folder / "kept.yaml").exists()


def _pay_labels(http: httpx.Client, text: str, old: str, new: str) -> list[tuple[str, str]]:
    """Complete at `§` in glance_pay with `old` replaced by `new`: (label, detail) pairs."""
    assert old in text
    plain, line, column = _caret(text.replace(old, new, 1), "§")
    answer = http.post("/api/flows/glance_pay/complete", json={"text": plain, "line": line, "column": column})
    assert answer.status_code == 200, answer.text
    return [(item["label"], item["detail"]) for item in answer.json()["items"]]


def test_templates_and_guards_complete_the_flows_own_slots_vars_and_event_fields(
    client: tuple[httpx.Client, Path],
) -> None:
    http, _ = client
    text = http.get("/api/flows/glance_pay").json()["text"]
    pay = 'prompt: "Pay {{ slots.amount }}'
    # inside `{{ }}` of a half-typed string: the roots the validator knows, then the declared slots
    roots = [label for label, _ in _pay_labels(http, text, pay, 'prompt: "Pay {{ §\n')]
    assert roots == ["device", "error", "event", "session", "slots", "vars"]
    assert _pay_labels(http, text, pay, 'prompt: "Pay {{ slots.am§') == [("amount", "money: Amount to pay in CNY")]
    # in a guard after `&&`: the vars this flow sets (`as:` of an invoke or action, `set:` targets)
    guard = 'if: "size(vars.recent.recent) > 0"'
    set_vars = dict(_pay_labels(http, text, guard, 'if: "slots.amount > 0 && vars.§'))
    assert {"qr", "recent", "photo", "reason", "earlier"} <= set(set_vars)
    assert set_vars["reason"].startswith("set at line") and "amount" not in set_vars
    # `event.` in a guard of `asr.transcript`: that event's payload fields from the catalogue
    fields = dict(_pay_labels(http, text, "if: \"event.text.contains('cancel')", 'if: "event.§'))
    assert fields["text"] == "string, from `asr.transcript`" and "is_final" in fields
    # in a state's invoke: the fields of the events whose transitions enter it (navigate's `tracking`)
    nav = http.get("/api/flows/navigate").json()["text"]
    plain, line, column = _caret(nav.replace('lat: "{{ event.lat', 'lat: "{{ event.§', 1), "§")
    answer = http.post("/api/flows/navigate/complete", json={"text": plain, "line": line, "column": column}).json()
    assert {"lat": "number, from `location.update`"}.items() <= {
        i["label"]: i["detail"] for i in answer["items"]
    }.items()
    # a `set:` value is CEL too; a plain (non-template) value is not an expression
    assert _pay_labels(http, text, '{vars.reason: "error.message"}', '{vars.reason: "sl§"}') == [
        ("slots", "the flow's slots (declared under `slots:`)")
    ]
    assert "slots" not in [label for label, _ in _pay_labels(http, text, "title: Confirm,", "title: s§")]
    # the roots whose shape the interpreter fixes: session and device members
    assert [label for label, _ in _pay_labels(http, text, pay, 'prompt: "Pay {{ session.§')] == [
        "flow",
        "id",
        "now",
        "run",
    ]
    assert "battery" in dict(_pay_labels(http, text, guard, 'if: "device.§'))


def test_hover_on_a_slot_inside_a_template_tells_its_type_and_description(client: tuple[httpx.Client, Path]) -> None:
    http, _ = client
    text = http.get("/api/flows/glance_pay").json()["text"]
    plain, line, column = _caret(text.replace('"Pay {{ slots.amount', '"Pay {{ slots.am§ount', 1), "§")
    answer = http.post("/api/flows/glance_pay/hover", json={"text": plain, "line": line, "column": column}).json()
    assert answer["contents"] == "slot `amount`: money: Amount to pay in CNY"
    assert answer["range"]["end_column"] - answer["range"]["column"] == len("slots.amount")
    plain, line, column = _caret(text.replace("{{ vars.earlier.summary", "{{ vars.ear§lier.summary", 1), "§")
    said = http.post("/api/flows/glance_pay/hover", json={"text": plain, "line": line, "column": column}).json()
    assert said["contents"].startswith("var `earlier`: `as:` at line ")
