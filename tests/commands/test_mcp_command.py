"""`cli.py mcp` refuses what it cannot serve safely in one line, before anything listens."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import assert_one_line_usage_error, run_cli


def test_mcp_over_http_listens_only_on_loopback_and_checks_its_flags(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "s.sqlite")]
    open_host = run_cli("mcp", "--http", "--host", "0.0.0.0", *db)
    assert_one_line_usage_error(open_host, "--host 0.0.0.0 is reachable from other machines", "no authentication")
    assert_one_line_usage_error(run_cli("mcp", "--http", "--port", "70000", *db), "--port: 70000 is not a port")
    assert_one_line_usage_error(run_cli("mcp", "--wearer", "../bob", *db), "--wearer", "is not a wearer id")
    assert not (tmp_path / "s.sqlite").exists()  # nothing was opened
