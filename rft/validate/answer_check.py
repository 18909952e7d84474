"""Final-answer extraction and checking against a gold answer.

`extract_final_answer` finds the last `Final answer: ...` line or `\\boxed{...}` (nested braces) in a
text. `check_answer` compares a prediction with a gold answer: numerically (with tolerance) when
both read as plain numbers, the GSM8K case; otherwise with `math-verify` symbolic equivalence, the
MATH case; otherwise by normalised string equality.
"""

from __future__ import annotations

import math
import re
import threading
from fractions import Fraction

from rft.schemas import Verdict

_FINAL_RE = re.compile(
    r"(?:final\s+answer\s*(?:is\b\s*:?|[:：=])|the\s+answer\s+is\b\s*:?)\s*(?P<ans>[^\n]+)",
    re.IGNORECASE,
)
_GSM8K_RE = re.compile(r"####\s*(?P<ans>[^\n]+)")
_NUMBER_RE = re.compile(r"^[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?$")
_FRACTION_RE = re.compile(r"^([-+]?\d+)\s*/\s*(\d+)$")
_LATEX_FRAC_RE = re.compile(r"^([-+]?)\\[dt]?frac\{(\d+)\}\{(\d+)\}$")
_PLACEHOLDERS = {"answer", "final", "your answer", "number", "final answer", "..."}
# A binary operation between numbers that was left unevaluated: `3 * 4`, `12/4 + 1`, `2 \\times 3`.
_UNEVALUATED = re.compile(r"[\d)]\s*(?:[-+*×÷^]|\\times|\\cdot|\\div)\s*[\d(]|\d\s*/\s*\d+\s*[-+*/]")
# A multiple-choice gold answer is one letter (or ARC's digit labels); a prediction names its choice
# as `B`, `(B)`, `B. steam`, `choice B` or `the answer is B`.
_CHOICE_GOLD = re.compile(r"^\s*[A-Ja-j1-9]\s*$")
_CHOICE_PRED = re.compile(
    r"^\s*\(?([A-Ja-j1-9])\)?(?:[.):,]|\s*$)|\b(?:choice|option|answer is|answer:)\s*\(?([A-Ja-j1-9])\)?\b",
    re.IGNORECASE,
)
_UNIT_TAIL = re.compile(r"\s*(?:[a-zA-Z%°][a-zA-Z%°.\s/]*)$")


def _boxed_contents(text: str) -> list[str]:
    """Contents of every `\\boxed{...}` / `\\fbox{...}`, matching nested braces."""
    found: list[str] = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        depth, start = 1, m.end()
        i = start
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        if depth == 0:
            found.append(text[start : i - 1].strip())
    return found


def _clean(ans: str) -> str:
    ans = ans.strip()
    boxed = _boxed_contents(ans)
    if boxed:
        ans = boxed[-1]
    ans = ans.strip().strip("$").strip()
    ans = re.sub(r"^\\\(|\\\)$", "", ans).strip()
    ans = re.sub(r"\*\*", "", ans).strip()  # markdown bold
    if "=" in ans and not boxed:  # "24/2 = 12": the value is the last side that has a digit
        sides = [x.strip() for x in ans.split("=")]
        with_digit = [x for x in sides if any(ch.isdigit() for ch in x)]
        ans = with_digit[-1] if with_digit else sides[-1]
    return ans.rstrip(".").strip()


def extract_final_answer(text: str | None) -> str | None:
    """The final answer a text states, or None. The last occurrence wins."""
    if not text:
        return None
    candidates: list[tuple[int, str]] = []
    for m in _FINAL_RE.finditer(text):
        candidates.append((m.start(), m.group("ans")))
    for m in _GSM8K_RE.finditer(text):
        candidates.append((m.start(), m.group("ans")))
    for m in re.finditer(r"\\(?:boxed|fbox)\s*\{", text):
        inner = _boxed_contents(text[m.start() :])
        if inner:
            candidates.append((m.start(), inner[0]))
    if not candidates:
        return None
    candidates.sort(key=lambda c: c[0])
    ans = _clean(candidates[-1][1])
    low = ans.lower()
    if (
        not ans
        or low.strip("<>[]()\"'` ") in _PLACEHOLDERS
        or low.startswith(("final", "<answer", "[answer"))
    ):
        return None  # "Final answer: <answer>" echoed from the instructions is no answer
    return ans


def parse_number(text: str) -> float | None:
    """A plain number in `text` (`1,234`, `-3.5`, `3/4`, `\\frac{3}{4}`, `$18`, `18 dollars`), or None."""
    s = text.strip().strip("$").strip()
    s = s.replace("\\$", "").replace("$", "").replace("\\%", "%").strip()
    s = _UNIT_TAIL.sub("", s).strip() if not _NUMBER_RE.match(s) else s
    s = s.rstrip(".").strip()
    if not s:
        return None
    if _NUMBER_RE.match(s) and any(ch.isdigit() for ch in s):
        try:
            return float(s.replace(",", ""))
        except ValueError:
            return None
    m = _FRACTION_RE.match(s)
    if m and int(m.group(2)) != 0:
        return float(Fraction(int(m.group(1)), int(m.group(2))))
    m = _LATEX_FRAC_RE.match(s)
    if m and int(m.group(3)) != 0:
        value = float(Fraction(int(m.group(2)), int(m.group(3))))
        return -value if m.group(1) == "-" else value
    return None


def gold_answer(gold: str) -> str:
    """The answer part of a gold field (a GSM8K solution ends with `#### 18`)."""
    m = list(_GSM8K_RE.finditer(gold))
    if m:
        return m[-1].group("ans").strip()
    return gold.strip()


def _math_verify(prediction: str, gold: str) -> bool | None:
    """math-verify equivalence; None when the gold answer cannot be parsed."""
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - declared dependency
        return None
    # math-verify's timeout uses signals, which only work in the main thread.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        g = parse(f"${gold}$", parsing_timeout=timeout)
        p = parse(f"${prediction}$", parsing_timeout=timeout)
        if not g:
            return None
        if not p:
            return False
        return bool(verify(g, p, timeout_seconds=timeout))
    except Exception:
        return None


def _norm_text(s: str) -> str:
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", s)
    return re.sub(r"[\s.$]+", "", s).lower()


def check_answer(
    prediction: str | None,
    gold: str | None,
    domain: str = "math",
    rel_tol: float = 1e-6,
    abs_tol: float = 1e-6,
) -> Verdict:
    """Compare a predicted final answer with the gold answer.

    `unknown` when either is missing; numeric comparison with tolerance when both are plain
    numbers; `math-verify` equivalence for other math; normalised string equality otherwise.
    """
    if prediction is None or gold is None or not str(prediction).strip() or not str(gold).strip():
        return Verdict.unknown
    pred = _clean(str(prediction))
    gold_s = _clean(gold_answer(str(gold)))
    if domain == "math":
        p_num, g_num = parse_number(pred), parse_number(gold_s)
        if p_num is not None and g_num is not None:
            ok = math.isclose(p_num, g_num, rel_tol=rel_tol, abs_tol=abs_tol)
            return Verdict.correct if ok else Verdict.incorrect
        if g_num is not None and _UNEVALUATED.search(pred):
            # "4 - 1 - 7" for a gold -4 restates the problem: math-verify would evaluate it and agree,
            # but a numeric answer has to be given as a number (as GSM8K graders read it).
            return Verdict.incorrect
        if _norm_text(pred) == _norm_text(gold_s):
            return Verdict.correct
        verified = _math_verify(pred, gold_s)
        if verified is None:
            return Verdict.unknown
        return Verdict.correct if verified else Verdict.incorrect
    if _CHOICE_GOLD.match(gold_s):  # multiple choice (ARC): compare the chosen letter
        m = _CHOICE_PRED.search(pred)
        if m is None:
            return Verdict.incorrect
        chosen = (m.group(1) or m.group(2)).upper()
        return Verdict.correct if chosen == gold_s.strip().upper() else Verdict.incorrect
    return Verdict.correct if _norm_text(pred) == _norm_text(gold_s) else Verdict.incorrect
