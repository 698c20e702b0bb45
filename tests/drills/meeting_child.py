"""A meeting as the glasses run it, checkpointed after every sentence: the process the meeting drill kills.

`python -m tests.drills.meeting_child SENTENCES CHECKPOINT` (LENSFLOW_DATA says where
transcripts go). It resumes from CHECKPOINT when there is one, then delivers each
sentence not yet acknowledged as a final `asr.transcript`, checkpoints (written to
a temporary file, synced, renamed: all or nothing) and only then prints
`ack N`, as a device is told its sentence is safe. After the last sentence a long
press ends the meeting; the last line is `done TRANSCRIPT_ID`.

The device side of a real session redelivers every sentence after the last one
acknowledged, so a sentence sent but not acknowledged before a kill is sent again.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PAD = " " * 1000  # long lines fill the pipe quickly, so this process cannot run far ahead of its reader


def _say(line: str) -> None:
    print(line + PAD, flush=True)


def _checkpoint(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def sentence(index: int, text: str) -> dict[str, Any]:
    at = 1000 + index * 2000
    return {"text": text, "lang": "en", "is_final": True, "start_ms": at, "end_ms": at + 1500, "speaker": "A"}


async def main(sentences: list[str], checkpoint: Path) -> None:
    from engine.runnable import load_runnable
    from engine.runtime.runner import Runner
    from skills.registry import embedded_skills

    flows, flow_id, _ = load_runnable(ROOT / "flows" / "transcribe_meeting.yaml")
    runner = Runner(flows, skills=embedded_skills())
    if checkpoint.exists():
        state = json.loads(checkpoint.read_text(encoding="utf-8"))
        await runner.resume(state["snapshot"])
        _say(f"resumed {state['next']}")
    else:
        await runner.start(flow_id)
        await runner.run_until(500)
        state = {"next": 0}
        _checkpoint(checkpoint, {"snapshot": runner.snapshot(), "next": 0})
        _say("started")
    for index in range(state["next"], len(sentences)):
        event = sentence(index, sentences[index])
        await runner.run_until(event["start_ms"])
        await runner.send("asr.transcript", event)
        await runner.run_until(event["end_ms"] + 200)
        _checkpoint(checkpoint, {"snapshot": runner.snapshot(), "next": index + 1})
        _say(f"ack {index}")
    await runner.send("gesture.long_press", {})
    await runner.run_until(runner.clock.now() + 120_000)
    _say(f"done {runner.session.vars['transcript']['id']} {runner.end_state()['final']}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")), Path(sys.argv[2])))
