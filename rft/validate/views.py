"""Comparable forms of a problem for the semantic stage.

A rephrased benchmark item rarely looks like the item as the benchmark stores it: a HumanEval prompt
is a signature, a docstring and doctests, while a rephrasing is plain prose; a MATH problem is LaTeX,
while a rephrasing often reads the formulas out ("n is congruent to 2 modulo 7", "the base-2
numeral"). Each text is therefore embedded in every form that a rephrasing could resemble, and a pair
scores the best cosine over its forms:

- every text: as it is;
- HumanEval prompts (and record questions that look like a Python prompt): the docstring prose, without
  the signature, the imports and the examples;
- LaTeX (MATH, and record questions with LaTeX): the formulas read out in words;
- MBPP: the task without its "Write a python function to" opening;
- ARC: as it is (a stem-only form gained too little for its share of the shipped data).
"""

from __future__ import annotations

import re

# --- code prompts --------------------------------------------------------------------------------
_DOCSTRING = re.compile(r"(\"\"\"|''')(.*?)(\1|$)", re.S)
_EXAMPLE_HEAD = re.compile(r"^\s*(for example|examples?|example \d+|for instance|e\.g\.)\b.*:?\s*$", re.I)
_CALL_LINE = re.compile(r"^\s*[*-]?\s*(for\s+)?[A-Za-z_]\w*\(.*\)\s*(==|=>|->|➞|should return|returns?)")
_IO_LINE = re.compile(r"^\s*(input|output|explanation)\s*:", re.I)


def is_code_prompt(text: str) -> bool:
    return bool(re.search(r"^\s*def \w+\(", text, re.M)) and ('"""' in text or "'''" in text)


def docstring_prose(prompt: str) -> str:
    """The prose of a function prompt's docstrings: no signature, imports, doctests or examples."""
    parts = []
    for m in _DOCSTRING.finditer(prompt):
        lines, skip_output = [], False
        for line in m.group(2).splitlines():
            s = line.strip()
            if s.startswith(">>>"):
                skip_output = True
                continue
            if skip_output:  # the doctest's expected output, up to a blank line or the next prose
                if not s or s.startswith(">>>"):
                    skip_output = False
                    continue
                if not re.match(r"^[A-Za-z][a-z]+(\s+\w+){2,}", s):  # not prose: an output value
                    continue
                skip_output = False
            if _EXAMPLE_HEAD.match(s) or _CALL_LINE.match(s) or _IO_LINE.match(s):
                continue
            lines.append(s)
        text = " ".join(x for x in lines if x)
        if text:
            parts.append(text)
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


# --- LaTeX read out ------------------------------------------------------------------------------
# Constructs that may nest (a fraction inside a root): applied until nothing changes.
_NESTED = [
    (r"\\pmod\s*\{([^{}]*)\}", r" modulo \1"),
    (r"\\bmod", " modulo "),
    (r"\\mod\b", " modulo "),
    (r"\\equiv", " is congruent to "),
    (r"\\d?binom\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r" \1 choose \2 "),
    (r"\\sqrt\s*\[3\]\s*\{([^{}]*)\}", r" the cube root of \1 "),
    (r"\\sqrt\s*\{([^{}]*)\}", r" the square root of \1 "),
    (r"\\sqrt\s*(\w)", r" the square root of \1 "),
    (r"\\[dt]?frac\s*\{1\}\s*\{2\}", " one half "),
    (r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r" \1 over \2 "),
    (r"\\[dt]?frac\s*(\d)\s*(\d)", r" \1 over \2 "),
    (r"\^\s*\\circ", " degrees "),
]
# Then, once, the rest: symbols and names read out, leftover markup removed.
_WORDS = [
    (r"\^\s*\{?\s*2\s*\}?", " squared "),
    (r"\^\s*\{?\s*3\s*\}?", " cubed "),
    (r"\^\s*\{([^{}]*)\}", r" to the power \1 "),
    (r"\^\s*(\w)", r" to the power \1 "),
    (r"_\s*\{?\s*2\s*\}?(?![0-9])", " in base two "),
    (r"_\s*\{?\s*8\s*\}?(?![0-9])", " in base eight "),
    (r"_\s*\{?\s*10\s*\}?(?![0-9])", " in base ten "),
    (r"(?<=[0-9a-z])_\s*\{?\s*(\d+)\s*\}?", r" in base \1 "),
    (r"\\(?:le|leq|leqslant)\b", " is at most "),
    (r"\\(?:ge|geq|geqslant)\b", " is at least "),
    (r"\\(?:ne|neq)\b", " is not equal to "),
    (r"\\approx", " approximately "),
    (r"\\(?:cdot|times)", " times "),
    (r"\\div", " divided by "),
    (r"\\pm", " plus or minus "),
    (r"\\infty", " infinity "),
    (r"\\arcsin", " inverse sine of "),
    (r"\\arccos", " inverse cosine of "),
    (r"\\arctan", " inverse tangent of "),
    (r"\\sin", " sine "),
    (r"\\cos", " cosine "),
    (r"\\tan", " tangent "),
    (r"\\sec", " secant "),
    (r"\\csc", " cosecant "),
    (r"\\cot", " cotangent "),
    (r"\\log", " logarithm "),
    (r"\\ln", " natural logarithm "),
    (r"\\sum", " the sum "),
    (r"\\prod", " the product "),
    (r"\\int", " the integral "),
    (r"\\lfloor", " the floor of "),
    (r"\\lceil", " the ceiling of "),
    (r"\\angle", " angle "),
    (r"\\triangle", " triangle "),
    (r"\\pi", " pi "),
    (r"\\theta", " theta "),
    (r"\\alpha", " alpha "),
    (r"\\beta", " beta "),
    (r"\\lambda", " lambda "),
    (r"\\\$", " dollars "),
    (r"\\%", " percent "),
    (r"\\(?:dots|ldots|cdots)", " and so on "),
    (r"\\text\s*\{([^{}]*)\}", r" \1 "),
    (r"\\(?:mathrm|mathbf|textbf|operatorname)\s*\{([^{}]*)\}", r" \1 "),
    (r"\\(?:left|right|big|bigg|Big|displaystyle|quad|qquad)\b", " "),
    (r"\\[a-zA-Z]+", " "),
    (r"\\[\[\]()]", " "),
    (r"\[asy\].*?\[/asy\]", " "),
    (r"[{}$\\]", " "),
    (r"(?<=\w)\s*=\s*(?=\w)", " equals "),
    (r"<", " is less than "),
    (r">", " is greater than "),
]
_NESTED_RE = [(re.compile(p, re.S), r) for p, r in _NESTED]
_WORDS_RE = [(re.compile(p, re.S), r) for p, r in _WORDS]
_LATEX_HINT = re.compile(r"\\[a-zA-Z]+|\^|_\{?\d|\$[^$\d\s]")  # "$5" (a price) is not LaTeX


def has_latex(text: str) -> bool:
    return bool(_LATEX_HINT.search(text))


def latex_in_words(text: str) -> str:
    """`text` with its LaTeX read out ("$n \\equiv 2 \\pmod{7}$" -> "n is congruent to 2 modulo 7")."""
    text = re.sub(r"\[asy\].*?\[/asy\]", " ", text, flags=re.S)
    for _ in range(3):  # nested braces: inner constructs first
        before = text
        for pattern, repl in _NESTED_RE:
            text = pattern.sub(repl, text)
        if text == before:
            break
    for pattern, repl in _WORDS_RE:
        text = pattern.sub(repl, text)
    return re.sub(r"\s+", " ", text).strip()


# --- task statements -----------------------------------------------------------------------------
_TASK_PREFIX = re.compile(
    r"^\s*(write|create|implement)\s+(a\s+)?(python\s+)?(function|program)\s+(to|that|which)\s+", re.I
)


def task_only(text: str) -> str:
    """An MBPP task without its "Write a (python) function to" opening."""
    return _TASK_PREFIX.sub("", text, count=1)


# --- the forms -----------------------------------------------------------------------------------
def benchmark_views(benchmark: str, text: str) -> list[tuple[str, str]]:
    """(view name, text) forms of one benchmark question to embed: "as_is" first."""
    out = [("as_is", text)]
    if benchmark == "humaneval" or is_code_prompt(text):
        prose = docstring_prose(text)
        if prose:
            out.append(("prose", prose))
    elif benchmark == "math":
        words = latex_in_words(text)
        if words and words != text:
            out.append(("words", words))
    if benchmark == "mbpp":
        task = task_only(text)
        if task != text:
            out.append(("task", task))
    return out


def record_views(text: str) -> list[str]:
    """The forms of a record question to embed: as it is, plus the prose of a code prompt or the
    LaTeX read out (so both sides can meet in the same form)."""
    out = [text]
    if is_code_prompt(text):
        prose = docstring_prose(text)
        if prose:
            out.append(prose)
    elif has_latex(text):
        words = latex_in_words(text)
        if words and words != text:
            out.append(words)
    return out
