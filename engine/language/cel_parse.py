"""A small parser of CEL, for what the `cel` package does not expose: its syntax tree.

`engine.language.cel_cost` reads the tree to count comprehensions and bound the cost of
an expression. Tokens skip whitespace, comments and string literals, so
`list . exists(` is a comprehension like `list.exists(`. The text is expected to
be valid CEL already (the `cel` compiler checked it); this parser only has to
agree with it on structure.

    >>> tree = parse("slots.items.exists(i, i == 'milk')")
    >>> tree.kind, tree.name, tree.bound
    ('comp', 'exists', ('i',))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import LensflowError

__all__ = ["MACROS", "Node", "ParseError", "parse"]

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TOKEN = re.compile(
    r"""(?P<ws>\s+|//[^\n]*)
      |(?P<str>[rRbB]{0,2}(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))
      |(?P<num>0[xX][0-9a-fA-F]+[uU]?|\d*\.\d+(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\d+[uU]?)
      |(?P<id>[A-Za-z_][A-Za-z0-9_]*|`[^`]*`)
      |(?P<op>==|!=|<=|>=|&&|\|\||[-+*/%!<>?:.,()\[\]{}])""",
    re.VERBOSE | re.DOTALL,
)
_RELATIONS = frozenset({"==", "!=", "<", "<=", ">", ">=", "in"})
_PRECEDENCE = {"||": 0, "&&": 1, **{op: 2 for op in _RELATIONS}, "+": 3, "-": 3, "*": 4, "/": 4, "%": 4}
_MAX_NESTING = 120


class ParseError(LensflowError, ValueError):
    """The text is not CEL this parser understands; `offset` is where it stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__("EXPRESSION_SYNTAX", message)
        self.offset = offset


@dataclass(frozen=True, slots=True)
class Node:
    kind: str  # lit ident select index call list map unary binary cond comp
    name: str = ""  # identifier, field, function, operator or macro
    args: tuple[Node, ...] = ()  # operands; for comp: range, then the bodies
    size: int = 0  # characters of a string or bytes literal
    offset: int = 0
    bound: tuple[str, ...] = ()  # comprehension variables
    text: str = ""  # a string or number literal as written (quotes, prefix and suffix included)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() != position:
            break
        position = match.end()
        if match.lastgroup != "ws":
            out.append((match.lastgroup or "", match.group(), match.start()))
    if position != len(text):
        raise ParseError(f"unexpected character {text[position]!r}", position)
    return out


class _Parser:
    """Recursive descent over the CEL grammar (cel-spec, langdef.md)."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0
        self.depth = 0
        self.end = len(text)

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.tokens[j][1] if j < len(self.tokens) else ""

    def offset(self) -> int:
        return self.tokens[self.i][2] if self.i < len(self.tokens) else self.end

    def take(self, expected: str | None = None) -> tuple[str, str, int]:
        if self.i >= len(self.tokens) or (expected is not None and self.tokens[self.i][1] != expected):
            raise ParseError(f"expected {expected or 'more'}", self.offset())
        self.i += 1
        return self.tokens[self.i - 1]

    def parse(self) -> Node:
        node = self.expr()
        if self.i != len(self.tokens):
            raise ParseError(f"unexpected {self.peek()!r}", self.offset())
        return node

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_NESTING:  # CEL itself refuses nesting past about 95
            raise ParseError("nested too deeply", self.offset())
        cond = self.binary(0)
        if self.peek() == "?":
            self.take("?")
            yes = self.binary(0)
            self.take(":")
            cond = Node("cond", "?:", (cond, yes, self.expr()))
        self.depth -= 1
        return cond

    def binary(self, lowest: int) -> Node:
        """Precedence climbing: operators bind left to right within a level."""
        node = self.unary()
        while True:
            op = self.peek()
            level = _PRECEDENCE.get(op)
            if level is None or level < lowest or (op == "in" and self.tokens[self.i][0] != "id"):
                return node
            self.take()
            node = Node("binary", op, (node, self.binary(level + 1)))

    def unary(self) -> Node:
        ops = []
        while self.peek() in ("!", "-") and self.tokens[self.i][0] == "op":
            ops.append(self.take()[1])
        node = self.member()
        for op in reversed(ops):
            node = Node("unary", op, (node,))
        return node

    def member(self) -> Node:
        node = self.primary()
        while self.peek() in (".", "["):
            if self.take()[1] == "[":
                if self.peek() == "?":
                    self.take()
                index = self.expr()
                self.take("]")
                node = Node("index", "[]", (node, index))
                continue
            if self.peek() == "?":
                self.take()
            kind, name, at = self.take()
            if kind != "id":
                raise ParseError("expected a field name", at)
            node = self.call(name, node, at) if self.peek() == "(" else Node("select", name, (node,))
        return node

    def call(self, name: str, target: Node | None, at: int) -> Node:
        self.take("(")
        args = self.list_of(")")
        if target is not None and name in MACROS and len(args) >= 2:
            bound = []
            for arg in args[:-1]:
                if arg.kind != "ident":
                    break
                bound.append(arg.name)
            if bound:
                bodies = args[len(bound) :]
                return Node("comp", name, (target, *bodies), offset=at, bound=tuple(bound))
        return Node("call", name, ((target,) if target is not None else ()) + tuple(args), offset=at)

    def list_of(self, close: str) -> list[Node]:
        items: list[Node] = []
        while self.peek() != close:
            if self.peek() == "?":
                self.take()
            items.append(self.expr())
            if self.peek() == ":":  # a map entry: key, value
                self.take()
                items.append(self.expr())
            if self.peek() != ",":
                break
            self.take(",")
        self.take(close)
        return items

    def primary(self) -> Node:
        kind, value, at = self.take()
        if kind == "op" and value == "." and self.i < len(self.tokens) and self.tokens[self.i][0] == "id":
            kind, value, at = self.take()  # a leading dot: the root namespace
        if kind == "id":
            if value in ("true", "false", "null"):
                return Node("lit", value, offset=at)
            if self.peek() == "(":
                return self.call(value, None, at)
            name = value
            while self.peek() == "." and self._struct_ahead():
                self.take(".")
                name += "." + self.take()[1]
            if self.peek() == "{":  # a message: Type{field: value}
                self.take("{")
                return Node("map", name, tuple(self.list_of("}")), offset=at)
            return Node("ident", value, offset=at)
        if kind == "str":
            return Node("lit", "string", size=len(value), offset=at, text=value)
        if kind == "num":
            return Node("lit", "number", offset=at, text=value)
        if value == "(":
            node = self.expr()
            self.take(")")
            return node
        if value == "[":
            return Node("list", "[]", tuple(self.list_of("]")), offset=at)
        if value == "{":
            return Node("map", "{}", tuple(self.list_of("}")), offset=at)
        raise ParseError(f"unexpected {value!r}", at)

    def _struct_ahead(self) -> bool:
        """`a.b.C{` is a message name; `a.b` alone is a field selection."""
        j = self.i
        while j + 1 < len(self.tokens) and self.tokens[j][1] == "." and self.tokens[j + 1][0] == "id":
            j += 2
        return j < len(self.tokens) and self.tokens[j][1] == "{" and j > self.i


def parse(text: str) -> Node:
    """The syntax tree of `text`. Raises `ParseError` when it cannot be read."""
    try:
        return _Parser(text).parse()
    except RecursionError:
        raise ParseError("nested too deeply", 0) from None
