"""Turn a teacher completion into one step: strip the `Step N:` label, cut anything after the step
(models often keep writing the next steps), and read a final answer if the step states one."""

from __future__ import annotations

import re

from rft.verify.answers import extract_final_answer

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
