"""Teacher echoes of the instructions: a proposed step that repeats the prompt instead of working on
the problem (small teachers often write `You can finish your steps with "Final answer: <answer>".`).

`echo_reason(text, prompt_messages)` says why a step is an echo, or None. The instructions are the
system and user messages without the problem's question (the text after "Problem: " in the user
message, up to "Steps so far:" or the last paragraph) and without the steps so far; a user message
without "Problem: " is not used, as its question cannot be told apart. A step is an echo when it
- contains a placeholder of the instructions (`<answer>`, `<k>`, `<0-10>`, ...) that the question lacks;
- is a line of the instructions' worked example (`Step 2: Then 2 + 12 = 14. Final answer: 14`);
- shares a run of MIN_WORDS words (3 or more of them not numbers) with an instruction sentence,
  compared without case, quotes, spacing or punctuation, that is not in the question (a whole
  sentence of five words or more copied from the prompt is such a run).
The worked example (a line, or a run from one of its sentences) is not an echo when it is about this
problem: half or more of its numbers and words of 4+ letters occur in the question or the steps so far.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MIN_WORDS = 5

PLACEHOLDER_REASON = (
    'The step copies the placeholder "{0}" from the instructions instead of working on the problem.'
)
EXAMPLE_REASON = "The step copies the worked example from the instructions instead of working on the problem."
SENTENCE_REASON = "The step repeats the instructions instead of working on the problem."

_QUESTION_MARK = "Problem:"
_STEPS_HEADING = re.compile(r"\n[ \t]*Steps so far:[ \t]*\n")
_PLACEHOLDER = re.compile(r"<[^<>\n]{1,60}>")
_EXAMPLE_LINE = re.compile(r"^[ \t]*Step \d+:[ \t]*(\S.*)$", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTES = str.maketrans("", "", "\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb")
_TOKEN = re.compile(r"\w+|[^\w\s]")
_TRAILING = set(".!?:;,")
_STEP_LABEL = re.compile(r"^step \d+ :\s*")


def _tokens(text: str) -> str:
    """Text as space-separated tokens: NFKC, lower case, no quotes, punctuation split off, no
    trailing punctuation; `3*4=12` and `3 * 4 = 12` are the same."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_QUOTES)
    toks = _TOKEN.findall(text)
    while toks and toks[-1] in _TRAILING:
        toks.pop()
    return " ".join(toks)


def _contains(haystack: str, needle: str) -> bool:
    """Whether token string `needle` occurs in `haystack` on token boundaries."""
    return bool(needle) and f" {needle} " in f" {haystack} "


def _sentences(text: str) -> list[str]:
    """Token strings of the sentences of `text`, each without a leading `Step k:` label."""
    out = []
    for part in _SENTENCE_END.split(text):
        toks = _STEP_LABEL.sub("", _tokens(part))
        if toks:
            out.append(toks)
    return out


@dataclass(frozen=True)
class _Prompt:
    instructions: str  # the messages' texts without the question and the steps so far
    question: str  # token string of the question (a step may quote it)
    steps: str  # token string of the steps so far


def _split_user(content: str) -> tuple[str, str, str]:
    """A step prompt's user message -> (instruction text, question, steps so far). The question
    runs from "Problem: " to the "Steps so far:" heading, else to the last paragraph."""
    at = content.find(_QUESTION_MARK)
    head, rest = content[:at], content[at + len(_QUESTION_MARK) :]
    heading = _STEPS_HEADING.search(rest)
    last = rest.rfind("\n\n", heading.end() if heading else 0)
    cut = last if last >= 0 else len(rest)
    question = rest[: heading.start()] if heading else rest[:cut]
    steps = rest[heading.end() : cut] if heading else ""
    return head + "\n" + rest[cut:], question, steps


def _parse(messages: list[dict[str, str]]) -> _Prompt:
    said, questions, steps = [], [], []
    for m in messages:
        role, content = m.get("role"), m.get("content") or ""
        if role == "system":
            said.append(content)
        elif role == "user" and _QUESTION_MARK in content:
            parts = _split_user(content)
            said.append(parts[0])
            questions.append(parts[1])
            steps.append(parts[2])
        # a user message without "Problem: " cannot be told apart from its question: not used
    return _Prompt("\n".join(said), " \n ".join(map(_tokens, questions)), " \n ".join(map(_tokens, steps)))


def _about_this_problem(sentence: str, context: str) -> bool:
    """Half or more of the sentence's numbers and words of 4+ letters occur in `context`."""
    content = {t for t in sentence.split() if t.isdigit() or (t.isalpha() and len(t) >= 4)}
    seen = set(context.split())
    return bool(content) and 2 * len(content & seen) >= len(content)


def _runs(sentence: str) -> set[tuple[str, ...]]:
    """Runs of MIN_WORDS consecutive words of a sentence with 3 or more words that are not numbers."""
    words = [t for t in sentence.split() if t[0].isalnum() or t[0] == "_"]
    runs = (tuple(words[i : i + MIN_WORDS]) for i in range(len(words) - MIN_WORDS + 1))
    return {r for r in runs if sum(not w.isdigit() for w in r) >= 3}


def echo_reason(text: str, prompt_messages: list[dict[str, str]]) -> str | None:
    """Why the step `text` proposed for `prompt_messages` is an echo of the instructions, or None."""
    prompt = _parse(prompt_messages)
    said, question = prompt.instructions, prompt.question
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(said)):
        if placeholder.lower() in text.lower() and not _contains(question, _tokens(placeholder)):
            return PLACEHOLDER_REASON.format(placeholder)
    example_lines = _EXAMPLE_LINE.findall(said)
    context = question + " " + prompt.steps
    step = _STEP_LABEL.sub("", _tokens(text))
    if step in {_tokens(line) for line in example_lines} and not _about_this_problem(step, context):
        return EXAMPLE_REASON
    in_question = _runs(question)
    example = {
        run: sentence for line in example_lines for sentence in _sentences(line) for run in _runs(sentence)
    }
    other = {run for sentence in _sentences(said) for run in _runs(sentence)} - example.keys()
    for sentence in _sentences(text):
        for run in _runs(sentence) - in_question:
            if run in other:
                return SENTENCE_REASON
            if run in example and not _about_this_problem(example[run], context):
                return EXAMPLE_REASON
    return None
