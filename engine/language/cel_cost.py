"""What a CEL expression can cost to evaluate, from its parse: shared by `validate` and the runtime.

The CEL engine cannot be interrupted once it runs, so an expression is only
started when its worst case fits the budget (`engine.limits`): `steps` bound the
time, `bytes` the memory.

The estimate is a function of three measures of the values the expression
reads: `longest`, the longest list or map among them; `items`, how many values
they hold in all (every list, map, string and scalar is one); `chars`, how many
characters (or bytes) their strings hold. For every node the model bounds the
shape of the value it yields (length, items, characters, longest list inside)
and charges what making it costs. Measured on the `cel` engine
(bench/cel_bounds_bench.py), reading a variable or a member copies its value, and
`map` and `filter` copy the list built so far on every iteration: both are charged.

A comprehension over a range of length n runs its bodies n times. Their cost
grows at most linearly with the size of the iteration variable, so the sum over
all elements is bounded by charging one run as if its element held the whole
range and the other n-1 as if theirs were empty.

    >>> analysis = analyze("event.items.exists(a, event.items.exists(b, a == b))")
    >>> analysis.comprehensions, analysis.depth
    (2, 2)
    >>> analysis.cost(longest=100, items=100, chars=0).within_budget()
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.language.cel_parse import Node, ParseError, parse
from engine.limits import (
    ASSUMED_CHARS,
    ASSUMED_ITEMS,
    BYTES_PER_ITEM,
    CHARS_PER_STEP,
    COST_BYTES_BUDGET,
    COST_STEPS_BUDGET,
    MAX_COMPREHENSIONS,
    MAX_EXPRESSION_CHARS,
    STEPS_PER_INPUT_ITEM,
)

__all__ = ["Analysis", "Cost", "LimitProblem", "analyze", "measure", "static_problems"]

_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">="})
_SCANS = frozenset({"contains", "startsWith", "endsWith", "size", "matches", "has"})
_SAME_SHAPE = frozenset({"string", "bytes", "dyn"})


@dataclass(frozen=True, slots=True)
class Cost:
    steps: float
    bytes: float

    def within_budget(self) -> bool:
        return self.steps <= COST_STEPS_BUDGET and self.bytes <= COST_BYTES_BUDGET


# A value's bound: (length if a list or map, items, characters, longest list or map inside it)
_Shape = tuple[float, float, float, float]
_SCALAR: _Shape = (0.0, 1.0, 0.0, 0.0)


class _Tally:
    """Steps and bytes spent so far."""

    __slots__ = ("bytes", "steps")

    def __init__(self) -> None:
        self.steps = 0.0
        self.bytes = 0.0

    def scan(self, shape: _Shape, times: float = 1.0) -> None:
        self.steps += times * (shape[1] + shape[2] / CHARS_PER_STEP)

    def make(self, shape: _Shape, times: float = 1.0) -> None:
        """A value of this shape is built (or copied)."""
        self.scan(shape, times)
        self.bytes += times * (shape[1] * BYTES_PER_ITEM + shape[2])


def _max(*shapes: _Shape) -> _Shape:
    return (
        max(s[0] for s in shapes),
        max(s[1] for s in shapes),
        max(s[2] for s in shapes),
        max(s[3] for s in shapes),
    )


def _walk(node: Node, env: dict[str, _Shape], tally: _Tally) -> _Shape:
    """The bound on `node`'s value; adds what evaluating it costs to `tally`."""
    tally.steps += 1
    kind = node.kind
    if kind == "lit":
        return (0.0, 1.0, float(node.size), 0.0)
    if kind == "ident":
        shape = env.get(node.name, env["<input>"])
        tally.make(shape)
        return shape
    if kind == "comp":
        return _comprehension(node, env, tally)
    shapes = [_walk(arg, env, tally) for arg in node.args]
    if kind in ("select", "index"):
        whole = shapes[0]
        if kind == "index":
            tally.scan(shapes[1])
        member = (whole[3], whole[1], whole[2], whole[3])
        tally.make(member)
        return member
    if kind == "binary":
        left, right = shapes
        if node.name == "+":
            joined = (left[0] + right[0], left[1] + right[1], left[2] + right[2], max(left[3], right[3]))
            tally.make(joined)
            return joined
        if node.name == "in":
            tally.scan(right)
            tally.scan(left, right[0])
        elif node.name in _RELATIONS:
            tally.scan(left)
            tally.scan(right)
        return _SCALAR
    if kind == "cond":
        return _max(shapes[1], shapes[2])
    if kind in ("list", "map"):
        count = len(shapes) if kind == "list" else (len(shapes) + 1) // 2
        built = (
            float(count),
            1.0 + sum(s[1] for s in shapes),
            sum(s[2] for s in shapes),
            max([0.0] + [max(s[0], s[3]) for s in shapes]),
        )
        tally.make(built)
        return built
    if kind == "call":
        for shape in shapes:
            tally.scan(shape, 16 if node.name == "matches" else 1)  # a pattern is compiled first
        if node.name in _SCANS or not shapes:
            return _SCALAR
        result = shapes[0] if node.name in _SAME_SHAPE and len(shapes) == 1 else _max(*shapes, _SCALAR)
        tally.make(result)
        return result
    return _SCALAR  # unary


def _comprehension(node: Node, env: dict[str, _Shape], tally: _Tally) -> _Shape:
    span = _walk(node.args[0], env, tally)
    count, items, chars, inner = span
    bodies = node.args[1:]
    empty, full = _Tally(), _Tally()
    small = [_walk(b, {**env, **{v: (inner, 0.0, 0.0, inner) for v in node.bound}}, empty) for b in bodies]
    large = [_walk(b, {**env, **{v: (inner, items, chars, inner) for v in node.bound}}, full) for b in bodies]
    if count > 0:
        tally.steps += count + (count - 1) * empty.steps + full.steps
        tally.bytes += (count - 1) * empty.bytes + full.bytes
    if node.name not in ("map", "filter"):
        return _SCALAR
    if node.name == "filter":
        made = span
    else:
        last_small, last_large = small[-1], large[-1]
        made = (
            count,
            count + max(count - 1, 0.0) * last_small[1] + last_large[1],
            max(count - 1, 0.0) * last_small[2] + last_large[2],
            max(last_large[0], last_large[3]),
        )
    tally.scan(made, count)  # the list built so far is copied on every iteration
    tally.make(made, 2)
    return made


def _count(node: Node) -> int:
    return (node.kind == "comp") + sum(_count(a) for a in node.args)


def _depth(node: Node) -> int:
    if node.kind == "comp":
        return max(_depth(node.args[0]), 1 + max(_depth(b) for b in node.args[1:]))
    return max((_depth(a) for a in node.args), default=0)


def _offsets(node: Node, out: list[int]) -> list[int]:
    if node.kind == "comp":
        out.append(node.offset)
    for arg in node.args:
        _offsets(arg, out)
    return out


@dataclass(frozen=True, eq=False)
class Analysis:
    """The parse of one expression and what follows from it."""

    tree: Node
    comprehensions: int
    depth: int
    comprehension_offsets: tuple[int, ...]  # where each starts in the text, in order

    def cost(self, longest: float, items: float, chars: float) -> Cost:
        """Worst case on inputs of this measure, converting them into CEL and the result back included."""
        tally = _Tally()
        tally.steps += items * STEPS_PER_INPUT_ITEM + chars / CHARS_PER_STEP
        tally.bytes += items * BYTES_PER_ITEM + chars
        shape = _walk(self.tree, {"<input>": (longest, items, chars, longest)}, tally)
        tally.make(shape)
        return Cost(tally.steps, tally.bytes)

    def free_scale(self) -> float:
        """Inputs up to this multiple of (ASSUMED_ITEMS, ASSUMED_CHARS) always fit the budget; -1 when none do."""
        low, high = -1.0, 1.0
        while self._fits(high) and high < 1e9:
            low, high = high, high * 4
        while high - low > max(0.01, high * 0.001):
            middle = (low + high) / 2
            low, high = (middle, high) if self._fits(middle) else (low, middle)
        return low

    def _fits(self, scale: float) -> bool:
        scale = max(scale, 0.0)
        items = scale * ASSUMED_ITEMS
        return self.cost(items, items, scale * ASSUMED_CHARS).within_budget()


@lru_cache(maxsize=8192)
def analyze(text: str) -> Analysis:
    """Parse `text` (already accepted by the CEL compiler). Raises `ParseError` if it cannot."""
    tree = parse(text)
    return Analysis(tree, _count(tree), _depth(tree), tuple(sorted(_offsets(tree, []))))


def measure(values: Any, cap_items: float, cap_chars: float) -> tuple[int, int, int]:
    """(longest list or map, items, characters) of the values an expression reads.

    Stops counting once past either cap: the caller refuses such inputs anyway.
    """
    longest = items = chars = 0
    stack = [values]
    pop, extend = stack.pop, stack.extend
    while stack:
        value = pop()
        items += 1
        kind = type(value)
        if kind is str or kind is bytes:
            chars += len(value)
        elif kind is dict or (kind is not list and isinstance(value, dict)):
            longest = max(longest, len(value))
            extend(value.keys())
            extend(value.values())
        elif kind is list or isinstance(value, (list, tuple)):
            longest = max(longest, len(value))
            extend(value)
        elif isinstance(value, (str, bytes, bytearray)):
            chars += len(value)
        else:
            continue
        if items > cap_items or chars > cap_chars:
            break
    return longest, items, chars


@dataclass(frozen=True, slots=True)
class LimitProblem:
    """One limit an expression breaks: `rule` is its validator slug, `offset` where to point."""

    rule: str  # "expression-limit" (refused when compiled) or "expression-cost"
    message: str
    offset: int


def static_problems(text: str) -> list[LimitProblem]:
    """Every static limit `text` breaks (it must already be valid CEL). Empty when it is within bounds."""
    if len(text) > MAX_EXPRESSION_CHARS:
        message = (
            f"expression longer than {MAX_EXPRESSION_CHARS} characters ({len(text)}); compute parts of it "
            "with `set:` into vars first"
        )
        return [LimitProblem("expression-limit", message, 0)]
    try:
        analysis = analyze(text)
    except ParseError as exc:
        return [LimitProblem("expression-limit", f"cannot bound the cost of this expression ({exc})", exc.offset)]
    problems = []
    if analysis.comprehensions > MAX_COMPREHENSIONS:
        message = (
            f"{analysis.comprehensions} comprehensions (all/exists/exists_one/map/filter); at most "
            f"{MAX_COMPREHENSIONS} are allowed in one expression"
        )
        problems.append(LimitProblem("expression-limit", message, analysis.comprehension_offsets[MAX_COMPREHENSIONS]))
    cost = analysis.cost(ASSUMED_ITEMS, ASSUMED_ITEMS, ASSUMED_CHARS)
    if not cost.within_budget():
        nested = f"comprehensions nested {analysis.depth} deep multiply; " if analysis.depth > 1 else ""
        message = (
            f"too costly to evaluate: on inputs of {ASSUMED_ITEMS} items and {ASSUMED_CHARS:,} characters it may "
            f"take {cost.steps:,.0f} steps and {cost.bytes:,.0f} bytes (budget {COST_STEPS_BUDGET:,} steps, "
            f"{COST_BYTES_BUDGET:,} bytes); {nested}filter or shorten the lists first"
        )
        offsets = analysis.comprehension_offsets
        problems.append(LimitProblem("expression-cost", message, offsets[0] if offsets else 0))
    return problems
