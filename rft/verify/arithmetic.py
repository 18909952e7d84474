"""A calculator check of the equations a step writes out (`10 + 8 = 19`).

A verification a student can do itself: it recomputes what the step computed, never looks at the gold
answer, and so its finding is a reason a model can learn to give ("10 + 8 is not 19"). Only equations
whose sides are plain arithmetic (numbers, + - * / x, parentheses, $ , %) are checked; anything with
a word or a variable in it is left alone.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

_NUM = r"\$?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?|\$?\d+(?:\.\d+)?%?"
_OP = r"[-+*/×÷x]"
_EXPR = rf"\(*\s*-?\s*(?:{_NUM})\s*\)*(?:\s*{_OP}\s*\(*\s*-?\s*(?:{_NUM})\s*\)*)*"
_LEFT = re.compile(rf"({_EXPR})\s*$")
_RIGHT = re.compile(rf"^\s*(-?\s*(?:{_NUM}))(?!\s*{_OP}\s*[\d(])")
_RIGHT_EXPR = re.compile(rf"^\s*({_EXPR})")
_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


@dataclass(frozen=True)
class FalseEquation:
    expression: str  # as written in the step
    claimed: str  # the value the step gives it

    @property
    def reason(self) -> str:
        # the true value is left out on purpose: it may be the answer a later step should reach
        return f"{self.expression} is not {self.claimed}."


def _python(expr: str) -> str:
    text = expr.replace("×", "*").replace("÷", "/").replace("$", "")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    text = re.sub(r"(\d+(?:\.\d+)?)%", r"(\1/100)", text)
    return re.sub(r"(?<=[\d)\s])x(?=[\s\d(])", "*", text)


def _value(expr: str) -> float | None:
    try:
        tree = ast.parse(_python(expr), mode="eval")
    except SyntaxError:
        return None

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = ev(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](ev(node.left), ev(node.right))
        raise ValueError("not arithmetic")

    try:
        return ev(tree)
    except (ValueError, ZeroDivisionError, OverflowError):
        return None


def _loose_chain(lhs: str, rhs: str) -> bool:
    """`16 / 2 = 8 * 3`: the right side starts with the left side's value and computes on (a chain
    written loosely, each computation right), or the left side cannot be computed."""
    a = _value(lhs)
    first = re.match(rf"\s*(-?\s*(?:{_NUM}))", rhs)
    if a is None or first is None:
        return True
    b = _value(first.group(1))
    return b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))


def _has_operator(expr: str) -> bool:
    return bool(re.search(rf"\d\s*\)*\s*{_OP}", expr))


def _agrees(value: float, claimed_text: str, claimed: float) -> bool:
    decimals = len(claimed_text.split(".")[1].rstrip("%")) if "." in claimed_text else 0
    if abs(value - claimed) <= 1e-9 * max(1.0, abs(value)):
        return True
    # a rounded result is not a mistake: 10 / 3 = 3.33, 2 / 3 = 0.7
    return decimals > 0 and round(value, decimals) == round(claimed, decimals)


def false_equation(text: str) -> FalseEquation | None:
    """The first equation `expression = number` in `text` that does not hold, or None. A right side
    that goes on computing (`16 / 2 = 8 * 3 = 24`) is a chain written loosely, not checked."""
    pieces = text.split("=")
    for i in range(len(pieces) - 1):
        left, right = _LEFT.search(pieces[i]), _RIGHT.match(pieces[i + 1])
        if not right:
            right = _RIGHT_EXPR.match(pieces[i + 1])
            if left and right and _loose_chain(left.group(1), right.group(1)):
                continue
        if not left or not right or pieces[i + 1].startswith("="):
            continue
        lhs, rhs = left.group(1).strip(), right.group(1).strip().rstrip(".")
        if not _has_operator(lhs) or pieces[i].rstrip().endswith(("<", ">", "!", "≈")):
            continue
        a, b = _value(lhs), _value(rhs)
        if a is None or b is None:
            continue
        if not _agrees(a, rhs.replace("$", "").replace(",", ""), b):
            return FalseEquation(lhs, rhs)
    return None
