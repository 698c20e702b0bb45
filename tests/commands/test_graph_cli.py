"""The `graph` command as a designer runs it: text formats on stdout, images to a file or a pipe, one-line errors."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine.designer.diagram import to_dot, to_mermaid
from tests.support import ROOT
from tests.support.cli import run_cli
from tests.support.flows import flow_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def graph_cli() -> None:
    assert run_cli("graph", "--help").returncode == 0, "cli.py has no graph command"


GLANCE_PAY = ROOT / "flows" / "glance_pay.yaml"


@pytest.mark.usefixtures("graph_cli")
def test_cli_graph_prints_text_formats() -> None:
    flow = flow_of(GLANCE_PAY)
    mermaid = run_cli("graph", str(GLANCE_PAY), "--format", "mermaid")
    assert mermaid.returncode == 0 and mermaid.stdout == to_mermaid(flow), mermaid.stderr
    dot = run_cli("graph", str(GLANCE_PAY), "--format", "dot")
    assert dot.returncode == 0 and dot.stdout == to_dot(flow), dot.stderr


@pytest.mark.usefixtures("graph_cli")
def test_cli_graph_writes_images(tmp_path: Path) -> None:
    png = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "graph", str(GLANCE_PAY), "--format", "png"],
        cwd=tmp_path,
        capture_output=True,
    )
    assert png.returncode == 0, png.stderr
    assert png.stdout.startswith(PNG_MAGIC) and not list(tmp_path.iterdir())  # piped: stdout, no file here
    target = tmp_path / "pay.svg"
    svg = run_cli("graph", str(GLANCE_PAY), "--format", "svg", "--out", str(target))
    assert svg.returncode == 0 and svg.stdout.strip() == str(target), svg.stderr
    ET.fromstring(target.read_bytes())


@pytest.mark.usefixtures("graph_cli")
def test_cli_graph_errors_are_one_line(tmp_path: Path) -> None:
    no_dot = run_cli("graph", str(GLANCE_PAY), "--format", "png", cwd=tmp_path, env={"PATH": str(tmp_path)})
    assert no_dot.returncode == 2
    assert no_dot.stderr.strip() == "lensflow: Graphviz 'dot' is not installed: apt-get install graphviz"
    missing = run_cli("graph", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
