"""The built-in `demo` source: seeded, procedural arithmetic problems with gold answers (reasoning-gym).

Rows alternate between two reasoning-gym generators (even rows, odd rows):
- `basic_arithmetic`: 3-term expressions (two steps) with numbers 0-10 (+, -, *), phrased as a
  question, which a 135M model solves now and then. Its gold answer is recomputed from the
  expression: reasoning-gym 0.1.x evaluates these left to right, ignoring operator precedence
  ("6 + 10 * 0" -> 0);
- `leg_counting`: short word problems (how many legs do 2 cows and 3 chickens have) that take a
  multiplication per animal and a sum.

Not `gsm_symbolic`: its templates are GSM8K *test* items with re-drawn numbers, so a demo built on
it is contaminated (`rft validate` flags them against GSM8K).
"""

from __future__ import annotations

import ast
import operator
from typing import Any

from rft.problems.readers import RawRow

GENERATORS: tuple[tuple[str, dict[str, Any]], ...] = (
    (
        "basic_arithmetic",
        {
            "min_terms": 3,
            "max_terms": 3,
            "min_digits": 1,
            "max_digits": 1,
            "operators": ("+", "-", "*"),
            "allow_parentheses": False,
            "allow_negation": False,
            "format_style": "natural",
        },
    ),
    ("leg_counting", {"min_animals": 2, "max_animals": 2, "max_instances": 3}),
)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}


def evaluate(expression: str) -> int:
    """Exact value of an integer expression with + - * (unary minus and parentheses allowed)."""

    def walk(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            value = walk(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        raise ValueError(f"unsupported expression: {expression!r}")

    return walk(ast.parse(expression, mode="eval").body)


def demo_options() -> dict[str, Any]:
    """What determines the demo rows besides size and seed (goes into the source fingerprint)."""
    import reasoning_gym

    return {
        "generators": [
            [name, {k: list(v) if isinstance(v, tuple) else v for k, v in kw.items()}]
            for name, kw in GENERATORS
        ],
        "reasoning_gym": getattr(reasoning_gym, "__version__", "unknown"),
        "answers": "basic_arithmetic recomputed with operator precedence",
    }


def demo_rows(size: int, seed: int) -> list[RawRow]:
    """`size` problems, deterministic for `seed` (row i of a larger size equals row i of a smaller one)."""
    import reasoning_gym

    n = len(GENERATORS)
    per_gen = [(size - g + n - 1) // n for g in range(n)]
    datasets = [
        reasoning_gym.create_dataset(name, size=max(count, 1), seed=seed * 1000 + g, **kwargs)
        for g, ((name, kwargs), count) in enumerate(zip(GENERATORS, per_gen, strict=True))
    ]
    rows: list[RawRow] = []
    for i in range(size):
        g, k = i % n, i // n
        item = datasets[g][k]
        answer = str(item["answer"])
        if GENERATORS[g][0] == "basic_arithmetic":
            answer = str(evaluate(item["metadata"]["expression"]))
        rows.append(
            RawRow(
                i,
                f"demo row {i}",
                {
                    "question": item["question"],
                    "answer": answer,
                    "domain": "math",
                    "generator": GENERATORS[g][0],
                },
            )
        )
    return rows
