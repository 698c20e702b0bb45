"""Every limit the engine enforces on a flow, in one place.

The validator reports each of them with file:line, and the compiler and the
runtime read the same numbers, so a flow that validates clean is never refused
when it loads (docs/runtime.md, "Bounds"; docs/validator.md).

Expression cost is bounded in two currencies (see `engine.language.cel_cost`): steps for
time (one node evaluated, one iteration, one value copied or converted; the CEL
engine runs about 10 million steps a second, so the step budget keeps one
evaluation near a tenth of a second) and bytes for memory.
"""

from __future__ import annotations

__all__ = [
    "ASSUMED_CHARS",
    "ASSUMED_ITEMS",
    "BYTES_PER_ITEM",
    "CHARS_PER_STEP",
    "COST_BYTES_BUDGET",
    "COST_STEPS_BUDGET",
    "MAX_ACTIVE_LEAVES",
    "MAX_CALL_DEPTH",
    "MAX_COMPREHENSIONS",
    "MAX_EXPRESSION_CHARS",
    "MAX_MICROSTEPS",
    "STEPS_PER_INPUT_ITEM",
]

# -- expressions (static: checked by `validate`, refused when a flow is compiled) --
MAX_EXPRESSION_CHARS = 2000
MAX_COMPREHENSIONS = 4  # all / exists / exists_one / map / filter in one expression

# -- expression cost (static estimate at assumed input sizes; enforced at run time on the real inputs) --
COST_STEPS_BUDGET = 1_000_000
COST_BYTES_BUDGET = 64 * 1024 * 1024
BYTES_PER_ITEM = 64  # one CEL value and its Python twin
CHARS_PER_STEP = 256  # copying or scanning this many characters takes about one step
STEPS_PER_INPUT_ITEM = 10  # converting one Python value into CEL
# `validate` requires every expression to stay within budget on inputs this large
ASSUMED_ITEMS = 100  # values in all (entries of lists and maps, strings, scalars)
ASSUMED_CHARS = 64 * 1024  # characters of their strings, in all

# -- statecharts ------------------------------------------------------------------
# states active at once: one leaf per parallel region. Compiling grows with the states and regions, not
# with their product; this bounds the work one event does when every region takes a transition.
MAX_ACTIVE_LEAVES = 256
MAX_CALL_DEPTH = 16  # flows on the call stack at once
MAX_MICROSTEPS = 1000  # internal events handled for one external event

