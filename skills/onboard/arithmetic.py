"""Spoken arithmetic, worked out offline and safely: "12 times 7", "十二乘以七", "what is 3.5 plus 2".

The words become an expression of numbers and `+ - * / ^ %` only; Python's parser
reads it into a syntax tree, and a small walker computes that tree in `Decimal`,
refusing anything else (a name, a call, an attribute: there is no `eval`). Number
words are read by the libraries the project already uses (`text2num` for English,
`cn2an` for Chinese). Exponents are bounded so "9 ^ 9 ^ 9" cannot stall the glasses.

    >>> calculate("twelve times seven")
    Decimal('84')
    >>> calculate("十二乘以七")
    Decimal('84')
    >>> calculate("what is the capital of France") is None
    True
"""

from __future__ import annotations

import ast
import re
from decimal import Decimal, DivisionByZero, InvalidOperation, localcontext

from engine.language.words import CJK
from skills.base import SkillError

__all__ = ["MAX_EXPONENT", "MAX_EXPRESSION_CHARS", "ArithmeticRefused", "calculate", "expression_of", "spoken"]

MAX_EXPONENT = 100  # a larger power is refused, not computed
MAX_EXPRESSION_CHARS = 120  # a longer "sum" is not something said to glasses
_MAX_DIGITS = 60  # a result longer than this is refused (a chain of powers)

# spoken operators, longest first so "divided by" wins over "by"
_OPERATORS = (
    ("to the power of", "^"),
    ("multiplied by", "*"),
    ("divided by", "/"),
    ("percent of", "% of"),
    ("modulo", "%"),
    ("squared", "^2"),
    ("cubed", "^3"),
    ("times", "*"),
    ("plus", "+"),
    ("minus", "-"),
    ("over", "/"),
    ("mod", "%"),
    ("乘以", "*"),
    ("除以", "/"),
    ("加上", "+"),
    ("减去", "-"),
    ("的平方", "^2"),
    ("次方", ""),
    ("乘", "*"),
    ("加", "+"),
    ("减", "-"),
    ("×", "*"),
    ("÷", "/"),
    ("x", "*"),
)
# what may surround the sum: "what is", "how much is", "等于多少", "?"
_FILLER = re.compile(
    r"\b(?:what(?:'s| is)|how much is|calculate|compute|equals?|is)\b|"
    r"等于几|等于多少|等于|是多少|多少|计算|算一下|请问|"
    r"[?？=。!！,，]",
    re.IGNORECASE,
)
_ALLOWED = re.compile(r"^[\d.\s+\-*/^%()]+$")
_POWER_OF_CN = re.compile(r"(\d+(?:\.\d+)?)的(\d+)次方")
_PERCENT_OF = re.compile(r"(\d+(?:\.\d+)?)\s*% of\s*(\d+(?:\.\d+)?)")


class ArithmeticRefused(SkillError):
    """An expression that is arithmetic but will not be computed (a huge power, division by zero): BAD_REQUEST."""

    def __init__(self, message: str) -> None:
        super().__init__("BAD_REQUEST", message)


def _digits(text: str) -> str:
    """Number words as digits (English by text2num, Chinese by cn2an; each loaded only when needed)."""
    if CJK.search(text):
        import cn2an  # slow to import: only for Chinese text

        try:
            text = cn2an.transform(text, "cn2an")
        except (ValueError, KeyError):
            return text
    elif re.search(r"[a-z]", text, re.IGNORECASE):
        from text_to_num import alpha2digit

        text = alpha2digit(text, "en", threshold=0)
    return text


def expression_of(question: str) -> str | None:
    """The arithmetic a question asks for, as `1 + 2 * 3` text; None when it asks anything else."""
    text = _digits(question.strip().lower())
    text = _POWER_OF_CN.sub(r"\1^\2", text)
    for word, symbol in _OPERATORS:
        if re.fullmatch(r"[a-z ]+", word):
            text = re.sub(rf"(?<![a-z]){re.escape(word)}(?![a-z])", f" {symbol} ", text)
        else:
            text = text.replace(word, f" {symbol} ")
    text = _PERCENT_OF.sub(r"(\1 / 100 * \2)", text)
    text = " ".join(_FILLER.sub(" ", text).split())
    if not text or len(text) > MAX_EXPRESSION_CHARS or not _ALLOWED.match(text):
        return None
    if not re.search(r"\d\s*[-+*/^%]|[-+*/^%]\s*\(?\s*\d", text) or not re.search(r"\d", text):
        return None
    return text


def _value(node: ast.AST) -> Decimal:
    """A syntax tree of numbers and arithmetic, computed in Decimal; any other node is refused."""
    number = isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
    if number and not isinstance(node.value, bool):  # type: ignore[attr-defined]
        return Decimal(repr(node.value))  # type: ignore[attr-defined]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        operand = _value(node.operand)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left, right = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, (ast.Div, ast.Mod)):
            if right == 0:
                raise ArithmeticRefused("division by zero")
            return left / right if isinstance(node.op, ast.Div) else left % right
        if isinstance(node.op, ast.Pow):
            if right != right.to_integral_value() or abs(right) > MAX_EXPONENT:
                raise ArithmeticRefused(f"powers are limited to whole exponents up to {MAX_EXPONENT}")
            if left.adjusted() * abs(right) > _MAX_DIGITS:
                raise ArithmeticRefused("the result would be too large to say")
            return left**right
    raise ArithmeticRefused(f"not arithmetic: {type(node).__name__}")


def calculate(question: str) -> Decimal | None:
    """The answer to a spoken sum, or None when the question is not one. Raises `ArithmeticRefused`
    for a sum it will not compute (division by zero, a power beyond `MAX_EXPONENT`)."""
    expression = expression_of(question)
    if expression is None:
        return None
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError:
        return None
    with localcontext() as context:
        context.prec = 28
        try:
            result = _value(tree.body)
        except (InvalidOperation, DivisionByZero, OverflowError) as exc:
            raise ArithmeticRefused(str(exc)) from None
    if result.adjusted() > _MAX_DIGITS:
        raise ArithmeticRefused("the result would be too large to say")
    return result


def spoken(value: Decimal) -> str:
    """A result as it is said: no exponent notation, at most six decimals, no trailing zeros."""
    rounded = value.quantize(Decimal("0.000001")) if value != value.to_integral_value() else value
    text = format(rounded.normalize(), "f")
    return text
