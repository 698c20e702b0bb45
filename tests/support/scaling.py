"""Linear or quadratic? Count the Python lines a tracer sees for inputs of size n and 4n (no timing)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

LINEAR = 6.0  # work(4n) / work(n): ~4 when linear, ~16 when quadratic


def work(fn: Callable[..., Any], *args: Any) -> int:
    """Python lines executed (and calls made) while running `fn(*args)`: a count, not a time."""
    count = 0

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += 1
        return tracer

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        fn(*args)
    finally:
        sys.settrace(previous)
    return count


def growth(make: Callable[[int], Any], run: Callable[[Any], Any], n: int) -> float:
    small, large = make(n), make(4 * n)
    run(small)  # warm caches (compiled patterns, catalogues) so that neither count includes them
    return work(run, large) / work(run, small)
