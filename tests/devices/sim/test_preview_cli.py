"""`cli.py preview` writes what each state shows (PNG) or says (audio-only profile)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from tests.support.cli import run_cli


def test_preview_writes_a_png_per_showing_state(tmp_path: Path) -> None:
    proc = run_cli("preview", "flows/glance_pay.yaml", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert {"scanning.png", "confirming.png", "telling_paid.png", "cancelled.png"} <= set(pngs)
    assert Image.open(tmp_path / "confirming.png").size == (640, 240)


def test_preview_one_state_and_audio_only(tmp_path: Path) -> None:
    proc = run_cli("preview", "flows/glance_pay.yaml", "--state", "telling_paid", "--out", str(tmp_path / "a"))
    assert proc.returncode == 0 and [p.name for p in (tmp_path / "a").glob("*.png")] == ["telling_paid.png"]
    proc = run_cli(
        "preview", "flows/glance_pay.yaml", "--state", "telling_paid", "--out", str(tmp_path / "b"),
        "--profile", "audio-only",
    )  # fmt: skip
    assert proc.returncode == 0
    assert not list((tmp_path / "b").glob("*.png"))
    spoken = (tmp_path / "b" / "telling_paid.spoken.txt").read_text()
    assert "Paid" in spoken


def test_preview_errors_are_one_line(tmp_path: Path) -> None:
    proc = run_cli("preview", "flows/glance_pay.yaml", "--state", "nowhere", "--out", str(tmp_path))
    assert proc.returncode == 2 and "has no state 'nowhere'" in proc.stderr and "Traceback" not in proc.stderr
