"""Turn a teacher completion into one step: strip the `Step N:` label, cut anything after the step
(models often keep writing the next steps), and read a final answer if the step states one.

For a code problem (`parse_code_step`) the final answer is the program: a step whose ```python
block is closed (and defines the entry point, where the problem names one) is the final step, kept
up to the end of that block, and the block's code is its final answer. A step without a block is
reasoning, whatever it says; a block cut off by max_tokens is an unfinished step."""

from __future__ import annotations

import re

from rft.verify.answers import extract_final_answer
from rft.verify.code import extract_code

STOP_SEQUENCES = ["\nStep "]
_LABEL = re.compile(
    r"^\s*(?:#+\s*)?(?:\*\*)?\s*step\s*\d+\s*(?:\*\*)?\s*[:.)-]?\s*(?:\*\*)?\s*", re.IGNORECASE
)
_NEXT_STEP = re.compile(r"\n\s*(?:\*\*)?\s*step\s*\d+\s*[:.)]", re.IGNORECASE)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_FINAL_LINE = re.compile(r"(final\s+answer\s*[:：=]?[^\n]*|\\boxed\s*\{)", re.IGNORECASE)


def parse_step(text: str) -> tuple[str, str | None]:
    """(step text, final answer or None) from one completion."""
    body, final, _ = parse_step_ends(text)
    return body, final


def parse_step_ends(text: str, truncated: bool = False) -> tuple[str, str | None, bool]:
    """(step text, final answer or None, whether the step ended before the completion did).

    A completion cut off by max_tokens (`truncated`) still holds a whole step when the model went on
    past the step's end (into the next `Step N:`, past the final-answer line, or past a paragraph
    break): only the unfinished run-on is lost. A paragraph that ends in ':' announces what follows,
    so it is not kept without it."""
    body = _LABEL.sub("", text.strip(), count=1)
    ended = False
    nxt = _NEXT_STEP.search(body)
    if nxt:
        body = body[: nxt.start()]
        ended = True
    body = body.strip()
    if truncated and not ended and not _FINAL_LINE.search(body):
        paragraphs = [p.strip() for p in _PARAGRAPH.split(body)][:-1]  # the last one was cut off
        while paragraphs and (not paragraphs[-1] or paragraphs[-1].endswith(":")):
            paragraphs.pop()
        if paragraphs:
            body, ended = "\n\n".join(paragraphs), True
    final = _FINAL_LINE.search(body)
    if final:
        # Keep the step up to the end of the line that states the answer.
        end = body.find("\n", final.end())
        if end != -1:
            body = body[:end].strip()
            ended = True
    return body, extract_final_answer(body), ended


def split_solution(text: str) -> tuple[list[str], str | None]:
    """Steps and final answer of a whole written solution (the `sample` strategy)."""
    body = text.strip()
    parts = [p.strip() for p in re.split(r"\n\s*(?=(?:\*\*)?\s*step\s*\d+)", body, flags=re.IGNORECASE)]
    steps = [_LABEL.sub("", p, count=1).strip() for p in parts if p.strip()]
    if len(steps) <= 1:
        steps = [line.strip() for line in body.splitlines() if line.strip()]
    return steps, extract_final_answer(body)


def answer_survives_cut(text: str) -> bool:
    """Whether a reply cut off by max_tokens still states its final answer whole: the line with the
    last `Final answer:` ended before the cut, or the last `\\boxed{...}` was closed."""
    matches = list(_FINAL_LINE.finditer(text))
    if not matches:
        return False
    last = matches[-1]
    if last.group(0).lstrip().startswith("\\"):
        return extract_final_answer(text[last.start() :]) is not None
    return "\n" in text[last.end() :]


_CODE_FENCE = re.compile(r"```[ \t]*(?:python3?|py3?)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_OPEN_FENCE = re.compile(r"```[ \t]*(?:python3?|py3?)?[ \t]*\n", re.IGNORECASE)


def _defines(code: str, name: str | None) -> bool:
    return not name or re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def final_program(text: str, entry_point: str | None = None) -> str | None:
    """The program of a whole written solution to a code problem: its closed ```python block that
    defines the entry point (the last such block), or None."""
    found = [m.group(1) for m in _CODE_FENCE.finditer(text) if _defines(m.group(1), entry_point)]
    return found[-1].rstrip() + "\n" if found and found[-1].strip() else None


def parse_code_step(
    text: str, entry_point: str | None = None, truncated: bool = False
) -> tuple[str, str | None, bool]:
    """(step text, the program or None, whether the step ended before the completion did) for a code
    problem (see the module doc)."""
    body = _LABEL.sub("", text.strip(), count=1)
    for m in _CODE_FENCE.finditer(body):
        if _defines(m.group(1), entry_point):
            return body[: m.end()].strip(), extract_code(body[: m.end()], entry_point), True
    if _OPEN_FENCE.search(body) and not _CODE_FENCE.search(body):
        # a block that never closed: cut off (an unfinished step), or the model stopped without the
        # closing fence (the program is the block's rest)
        if truncated:
            return body.strip(), None, False
        program = extract_code(body, entry_point)
        if _defines(program, entry_point) and program.strip():
            return body.strip() + "\n```", program, True
    step, _, ended = parse_step_ends(text, truncated=truncated)
    return step, None, ended
