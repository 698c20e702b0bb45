"""Tracing is off until asked for; once on, a failure is recorded by its code and type, never its words."""

from __future__ import annotations

import subprocess
import sys

import pytest
from opentelemetry.trace import StatusCode

from engine.runtime.calls import SkillError
from engine.tracing import export_spans, span, tracer
from tests.support import ROOT
from tests.support.tracing import recorded_spans


def test_a_failed_span_says_the_code_and_type_and_not_the_message() -> None:
    with recorded_spans() as exporter, pytest.raises(SkillError), span("lensflow.skill", {"lensflow.skill": "x"}):
        raise SkillError("TIMEOUT", "while the wearer said their secret")
    (failed,) = exporter.get_finished_spans()
    assert failed.status.status_code is StatusCode.ERROR and failed.status.description == "SkillError"
    assert (failed.attributes or {})["error.type"] == "TIMEOUT"
    assert failed.events == ()  # no exception event: its message would quote the wearer
    assert tracer() is None  # off again once the test's recording ends


@pytest.mark.parametrize(
    "env",
    [{}, {"OTEL_TRACES_EXPORTER": "none"}, {"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}],
    ids=["nothing-asked", "none", "sdk-disabled"],
)
def test_nothing_is_exported_unless_asked(env: dict[str, str]) -> None:
    assert export_spans("lensflow-test", env=env) is None and tracer() is None


def test_an_application_with_its_own_sdk_gets_spans_from_its_next_turn() -> None:
    """Embedded in an application that set a global TracerProvider, the session host traces without being told."""
    code = """
import asyncio
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from engine.assistant.host import SessionHost
from engine.assistant.routing import OfflineRouter
from engine.assistant.store_sqlite import SqliteSessionStore
from engine.tracing import tracer
from tests.support.assistant import FLOWS

assert tracer() is None
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
host = SessionHost(FLOWS, SqliteSessionStore(":memory:"), OfflineRouter([c.flow for c in FLOWS.values()]))
asyncio.run(host.turn("w", "translate into Japanese"))
print(sorted({s.name for s in exporter.get_finished_spans()}))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.stdout.strip() == "['lensflow.step', 'lensflow.turn']", proc.stderr[-2000:]
