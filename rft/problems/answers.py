"""Gold-answer extraction from reference solutions (GSM8K `####`, MATH `\\boxed{}`)."""

from __future__ import annotations

import re

_BOX_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")


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


def last_boxed(text: str | None) -> str | None:
    """The content of the last `\\boxed{...}` or `\\fbox{...}` (also `\\boxed 5`), or None."""
    if not text:
        return None
    for m in reversed(list(_BOX_RE.finditer(text))):
        i = m.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            inner = _balanced(text, i)
            if inner is not None and inner.strip():
                return inner.strip()
        elif i > m.end():  # "\boxed 5": up to the next '$' or whitespace
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                return token.group(0)
    return None


def gsm8k_answer(text: str) -> tuple[str, str] | None:
    """Split a GSM8K answer field into (worked solution, final answer); commas stripped. None if no `####`."""
    if "####" not in text:
        return None
    solution, _, final = text.rpartition("####")
    final = final.strip().replace(",", "").strip()
    if not final:
        return None
    return solution.strip(), final
