"""The gateway's copy of a session's tail hands commands on in number order, each once, however they cross."""

from __future__ import annotations

from typing import Any

from backends.temporal.mirror import MirrorOutbox


def _command(seq: int, action: str = "hud.show", **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "action": action, "args": {"title": f"card {seq}"}, **extra}


def test_a_batch_that_skips_a_number_is_held_back_until_the_gap_is_filled() -> None:
    box = MirrorOutbox()
    box.keep(box.fresh([_command(1)]) or [])
    assert box.fresh([_command(3)]) is None  # 2 is still on its way (a delivery the Update overtook)
    filled = box.fresh([_command(3), _command(2), _command(2)])
    assert [c["seq"] for c in filled or []] == [2, 3]  # sorted, once each
    box.keep(filled or [])
    assert box.fresh([_command(2), _command(3)]) == []  # arriving again: nothing to hand on
    assert box.sent_through == 3 and box.last_command == 3 and box.display == _command(3)


def test_restart_from_the_workflows_tail_knows_what_the_device_already_has() -> None:
    box = MirrorOutbox()
    kept = [_command(7), _command(8, "camera.capture", file="p.jpg")]
    tail: dict[str, Any] = {"commands": kept, "last_command": 8}
    box.restart({**tail, "dropped_through": 0, "display": _command(7), "files": ["p.jpg"]}, seen=0)
    assert box.sent_through == 6  # 1..6 were acknowledged through another gateway
    box.keep(box.fresh(kept) or [])
    assert [c["seq"] for c in box.missed(6)] == [7, 8] and box.files == ["p.jpg"]
    assert box.ack(7) and [c["seq"] for c in box.unacked] == [8]
    assert not box.ack(9)  # never sent


def test_dropped_commands_are_skipped_and_remembered() -> None:
    box = MirrorOutbox()
    box.skip_to(300)
    assert box.dropped_through == 300 and box.fresh([_command(301)]) == [_command(301)]
