"""Which step of a failed path was wrong, and the words that say why.

Evidence comes only from what a model could have said at that point: a judge's critique of a step it
scored below the threshold, or the teacher's own self-check (a `reflection` node). A checker's verdict
against the gold answer ("The final answer 20 does not check out."), a score, or a note from the
search itself (a step cut off at the token limit, an echo of the instructions) is never a reason a
student can learn to give, so it never becomes one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rft.schemas import Node, NodeKind, Verdict

# Validators whose critiques are verdicts of a check the student cannot run (the gold answer, a code
# problem's hidden tests), or notes of the search about a candidate, not reasoning about its content.
CHECKER_VALIDATORS = frozenset({"answer", "composite/answer", "code-tests", "truncated", "echo"})

_STEP_LABEL = re.compile(r"^\W*step\s*(\d+)\s*[:.,)\-]*\s*", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def usable_critique(node: Node) -> str | None:
    """The node's critique when it is reasoning about the step that says what is wrong with it (not
    a checker's verdict, not praise, not a copy of the step)."""
    text = (node.critique or "").strip()
    if not text or (node.validator or "") in CHECKER_VALIDATORS:
        return None
    return text if explains_a_mistake(text, node.text) else None


_FAULT = re.compile(
    r"\b(?:not|no|wrong|incorrect|mistake|mistaken|error|errors|should|instead|isn't|aren't|wasn't|"
    r"doesn't|don't|didn't|cannot|can't|missing|misses|forgot|forgets|ignores|misread|misreads|"
    r"miscalculat\w*|off by|too (?:big|small|large|high|low)|never|fails?|only|wrongly)\b",
    re.IGNORECASE,
)
_ANSWER = re.compile(r"\b(?:final answer|the answer is)\b", re.IGNORECASE)


def explains_a_mistake(reason: str, step: str) -> bool:
    """Whether `reason` says what is wrong (a fault word, a few words long), without stating an
    answer and without merely repeating the step it is about."""
    words = reason.split()
    if len(words) < 3 or not _FAULT.search(reason) or _ANSWER.search(reason):
        return False
    a, b = " ".join(reason.lower().split()), " ".join(step.lower().split())
    return a.rstrip(".") not in b  # a copy of the step (or of part of it) says nothing about it


def caught(node: Node, threshold: float) -> bool:
    """The validator found the step wrong (scored it below the threshold, or its final answer
    failed) and a model said why in its critique."""
    if usable_critique(node) is None:
        return False
    low = node.score is not None and node.score < threshold
    return low or node.verdict == Verdict.incorrect


def blame_by_critique(path: Sequence[Node], threshold: float) -> Node | None:
    """The step of `path` the judge found most clearly wrong (lowest score, then earliest)."""
    found = [n for n in path if n.kind != NodeKind.reflection and caught(n, threshold)]
    if not found:
        return None
    return min(found, key=lambda n: (n.score if n.score is not None else 0.0, n.depth))


def parse_reflection(text: str, path: Sequence[Node]) -> tuple[Node | None, str]:
    """(the step of `path` a self-check names as wrong, its reason without the `Step k:` label).

    `path` is the steps from the root's child down; "Step k" is `path[k-1]`. A self-check that names
    no step of the path, or gives no reason, blames nothing."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    m = _STEP_LABEL.match(line)
    if not m:
        return None, ""
    k = int(m.group(1))
    reason = line[m.end() :].strip()
    if not 1 <= k <= len(path) or not explains_a_mistake(reason, path[k - 1].text):
        return None, ""
    return path[k - 1], sentence(reason)


def punctuated(text: str) -> str:
    """`text` ending in punctuation (a period added where it has none)."""
    text = text.strip()
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def sentence(text: str) -> str:
    """`text` as one sentence: capitalised, ending in punctuation."""
    text = punctuated(text)
    return text[:1].upper() + text[1:]


def specificity(node: Node) -> int:
    """How specifically a critique names what is wrong in the step: numbers of the step it quotes
    (weighted) plus its length in words. 0 = a generic critique ("The step is wrong.")."""
    critique = usable_critique(node)
    if critique is None:
        return 0
    step_numbers = set(_NUMBER.findall(node.text))
    shared = len(step_numbers & set(_NUMBER.findall(critique)))
    words = len(critique.split())
    if shared == 0 and words < 8:
        return 0
    return 10 * shared + words
