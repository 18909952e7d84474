"""Final answers: extraction and equivalence, one parser for gold answers and for predictions.

- `boxes` reads every `\\boxed{...}` / `\\fbox{...}` (nested braces, escaped `\\{ \\}`) and `\\boxed 5`;
  `last_boxed` (a MATH solution's answer) and `extract_final_answer` (a prediction's) both use it.
- `extract_final_answer` finds the last `Final answer: ...` / `The answer is ...` line, `#### 18`
  or box in a text; `gold_answer` and `gsm8k_answer` read GSM8K's `#### 18`.
- Equivalence: `numbers_equal` (plain numbers, with tolerance: the GSM8K case), `math_equal`
  (`math-verify` symbolic equivalence: the MATH case), `chosen_letter` (multiple choice) and
  `same_text` (normalised string equality). The graders in `rft.verify.grader` combine them.
"""

from __future__ import annotations

import math
import re
import threading
from fractions import Fraction

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
_BOX_TOKEN = re.compile(r"[^\s$]+")
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
UNEVALUATED = re.compile(r"[\d)]\s*(?:[-+*×÷^]|\\times|\\cdot|\\div)\s*[\d(]|\d\s*/\s*\d+\s*[-+*/]")
# A multiple-choice gold answer is one letter (or ARC's digit labels); a prediction names its choice
# as `B`, `(B)`, `B. steam`, `choice B` or `the answer is B`.
_CHOICE_GOLD = re.compile(r"^\s*[A-Ja-j1-9]\s*$")
_CHOICE_PRED = re.compile(
    r"^\s*\(?([A-Ja-j1-9])\)?(?:[.):,]|\s*$)|\b(?:choice|option|answer is|answer:)\s*\(?([A-Ja-j1-9])\)?\b",
    re.IGNORECASE,
)
_UNIT_TAIL = re.compile(r"\s*(?:[a-zA-Z%°][a-zA-Z%°.\s/]*)$")


# --- extraction ----------------------------------------------------------------------------------


def _balanced(text: str, start: int) -> str | None:
    """Content of the brace group opening at text[start] == '{', nested braces handled."""
    depth = 0
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):  # skip escaped chars such as \{ and \}
            i += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i]
        i += 1
    return None


def boxes(text: str | None) -> list[tuple[int, str]]:
    """(offset, stripped content) of every `\\boxed{...}` / `\\fbox{...}` in order, and of `\\boxed 5`
    (up to the next `$` or whitespace). An unclosed box is skipped; an empty one is kept as ''."""
    found: list[tuple[int, str]] = []
    for m in _BOX_RE.finditer(text or ""):
        i = m.end()
        while i < len(text) and text[i].isspace():
            i += 1
        if i < len(text) and text[i] == "{":
            inner = _balanced(text, i)
            if inner is not None:
                found.append((m.start(), inner.strip()))
        elif i > m.end() and (token := _BOX_TOKEN.match(text, i)):
            found.append((m.start(), token.group(0)))
    return found


def last_boxed(text: str | None) -> str | None:
    """The content of the last non-empty box (see `boxes`), or None."""
    return next((inner for _, inner in reversed(boxes(text)) if inner), None)


def gsm8k_answer(text: str) -> tuple[str, str] | None:
    """Split a GSM8K answer field into (worked solution, final answer); commas stripped. None if no `####`."""
    if "####" not in text:
        return None
    solution, _, final = text.rpartition("####")
    final = final.strip().replace(",", "").strip()
    if not final:
        return None
    return solution.strip(), final


def gold_answer(gold: str) -> str:
    """The answer part of a gold field (a GSM8K solution ends with `#### 18`)."""
    m = list(_GSM8K_RE.finditer(gold))
    if m:
        return m[-1].group("ans").strip()
    return gold.strip()


def clean_answer(ans: str) -> str:
    """An answer as compared: the last box's content, without `$`, `\\( \\)`, bold or a final '.';
    of `24/2 = 12` the last side with a digit."""
    ans = ans.strip()
    boxed = boxes(ans)
    if boxed:
        ans = boxed[-1][1]
    ans = ans.strip().strip("$").strip()
    ans = re.sub(r"^\\\(|\\\)$", "", ans).strip()
    ans = re.sub(r"\*\*", "", ans).strip()  # markdown bold
    if "=" in ans and not boxed:  # "24/2 = 12": the value is the last side that has a digit
        sides = [x.strip() for x in ans.split("=")]
        with_digit = [x for x in sides if any(ch.isdigit() for ch in x)]
        ans = with_digit[-1] if with_digit else sides[-1]
    return ans.rstrip(".").strip()


def _final_statement(text: str | None) -> tuple[int, str] | None:
    """(offset, raw answer) of the last final-answer statement in a text: a `Final answer: ...` /
    `The answer is ...` line, `#### 18` or a box, whichever comes last."""
    if not text:
        return None
    candidates: list[tuple[int, str]] = []
    for m in _FINAL_RE.finditer(text):
        candidates.append((m.start(), m.group("ans")))
    for m in _GSM8K_RE.finditer(text):
        candidates.append((m.start(), m.group("ans")))
    candidates += boxes(text)
    if not candidates:
        return None
    return sorted(candidates, key=lambda c: c[0])[-1]  # stable: on a tie the later-listed wins


def final_answer_start(text: str | None) -> int | None:
    """Where the final answer statement `extract_final_answer` reads begins (its offset), or None:
    the text before it is the reasoning."""
    found = _final_statement(text)
    return found[0] if found else None


def extract_final_answer(text: str | None) -> str | None:
    """The final answer a text states, or None. The last occurrence wins."""
    found = _final_statement(text)
    if found is None:
        return None
    ans = clean_answer(found[1])
    low = ans.lower()
    if (
        not ans
        or low.strip("<>[]()\"'` ") in _PLACEHOLDERS
        or low.startswith(("final", "<answer", "[answer"))
    ):
        return None  # "Final answer: <answer>" echoed from the instructions is no answer
    return ans


# --- equivalence ---------------------------------------------------------------------------------


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


def numbers_equal(a: float, b: float, rel_tol: float = 1e-6, abs_tol: float = 1e-6) -> bool:
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def math_equal(prediction: str, gold: str) -> bool | None:
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


def same_text(a: str, b: str) -> bool:
    """Equal after dropping `\\text{}`, whitespace, '.' and '$', case aside."""
    return _norm_text(a) == _norm_text(b)


def _norm_text(s: str) -> str:
    s = re.sub(r"\\text\{([^}]*)\}", r"\1", s)
    return re.sub(r"[\s.$]+", "", s).lower()


def is_choice(gold: str) -> bool:
    """Whether a gold answer is a multiple-choice label (one letter, or ARC's digit labels)."""
    return bool(_CHOICE_GOLD.match(gold))


def chosen_letter(prediction: str) -> str | None:
    """The choice a prediction names (`B`, `(B)`, `B. steam`, `choice B`, `the answer is B`), upper case."""
    m = _CHOICE_PRED.search(prediction)
    return (m.group(1) or m.group(2)).upper() if m else None
