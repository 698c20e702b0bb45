"""`run_closing` hands back what the coroutine returned without formatting it."""

from __future__ import annotations

from skills.qwen.client import run_closing


class _Watched:
    """A result that notes each time something builds its repr (a simulation's repr walks its whole trace)."""

    def __init__(self) -> None:
        self.formatted = 0

    def __repr__(self) -> str:
        self.formatted += 1
        return "<watched>"


def test_the_result_is_returned_without_being_formatted() -> None:
    result = _Watched()

    async def main() -> _Watched:
        return result

    assert run_closing(main()) is result
    assert result.formatted == 0  # Python 3.11's asyncio.run formats its main task's result on the way out
