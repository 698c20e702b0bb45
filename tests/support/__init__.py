"""What tests share: paths, running the CLI, building flows, local provider servers.

Modules (import what you need; none of them holds tests):

- `cli`: `run_cli` (the CLI in a fresh interpreter), `validate_json`, `assert_one_line_usage_error`
- `extras`: `run_without` (the CLI where an extra's packages cannot be imported)
- `repos`: `flows_repo`, another repository's flows (a good one, its tests, a broken one)
- `flows`: `flow_of` (a flow file's model), `run_skill`, the `WriteFlow` fixture type
- `runtime`: flow texts compiled and run on the virtual clock in-process
- `bridge`: a bridge server on 127.0.0.1 and a reader of what it sends
- `assistant`: the shipped flows compiled, an assistant over them with counting payment skills
- `routing`: the labelled utterance sets and the offline router over the shipped flows
- `scaling`: counting executed lines to tell linear from quadratic work
- `watch`: reading `validate --watch` output line by line
- `photos`: drawn package photos with barcodes, and payment QR codes
- `mcp`: `cli.py mcp` spawned on stdio or HTTP, and its tool results read
- `servers`: local stand-ins for provider services speaking their real wire formats
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"

__all__ = ["FIXTURES", "ROOT"]
