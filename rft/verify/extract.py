"""Named answer extractions: how the answer is read from a model's output before a grader compares it
with the gold answer. Each one is reported on its own, so a score says how its answer was read.

- `rft`: rft's own reading (`rft.verify.answers.extract_final_answer`): the last `Final answer: ...` /
  `The answer is ...` line, `#### N` or `\\boxed{}`; the reading generate and validate use.
- `strict`: lm-evaluation-harness's GSM8K "strict-match": the first `#### N`.
- `flexible`: lm-evaluation-harness's GSM8K "flexible-extract": the last number in the output.
- `strict-cot`: the "strict-match" of lm-evaluation-harness's chain-of-thought GSM8K tasks
  (gsm8k-cot, gsm8k-cot-zeroshot): the first `The answer is N.`

The lm-evaluation-harness definitions are copied from EleutherAI/lm-evaluation-harness at commit
4e7e0d47f33bc71070c1d38394bafbb52b117163: the regexes and filters from lm_eval/tasks/gsm8k/gsm8k.yaml
and gsm8k-cot-zeroshot.yaml (`filter_list`), the regex filter from lm_eval/filters/extraction.py
(`RegexFilter.apply`: `re.findall`, then `group_select`, then of a tuple of groups the first non-empty
one, then `.strip()`; no match gives the fallback "[invalid]", which is None here), and `take_first`
(lm_eval/filters/selection.py), which keeps the first of an item's repeats: here every sample is read
on its own, and pass@k / maj@k say how samples combine.

lm-evaluation-harness then scores with `exact_match` after the task's `regexes_to_ignore` and
`ignore_case` (lm_eval/api/metrics.py, `exact_match_hf_evaluate`); `lm_eval_exact_match` reproduces
that comparison, so lm-eval's own number can be shown beside rft's. rft's score compares the extracted
answer with the gold through the benchmark's grader (numeric equivalence for GSM8K: `18.00`, `$18` and
`18.` are 18)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rft.errors import ConfigError
from rft.verify.answers import extract_final_answer

LM_EVAL_COMMIT = "4e7e0d47f33bc71070c1d38394bafbb52b117163"

# lm_eval/tasks/gsm8k/gsm8k.yaml, filter "strict-match" (regex, take_first)
STRICT_RE = re.compile(r"#### (\-?[0-9\.\,]+)")
# lm_eval/tasks/gsm8k/gsm8k.yaml, filter "flexible-extract" (regex with group_select -1, take_first)
FLEXIBLE_RE = re.compile(r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
# lm_eval/tasks/gsm8k/gsm8k-cot-zeroshot.yaml (and gsm8k-cot.yaml), filter "strict-match"
STRICT_COT_RE = re.compile(r"The answer is (\-?[0-9\.\,]+).")
# lm_eval/tasks/gsm8k/gsm8k.yaml, metric exact_match: regexes_to_ignore (in this order), ignore_case true
LM_EVAL_GSM8K_IGNORE = (",", "\\$", "(?s).*#### ", "\\.$")


def lm_eval_regex(pattern: re.Pattern[str], text: str | None, group_select: int = 0) -> str | None:
    """lm-evaluation-harness's `RegexFilter` on one response; None where it gives "[invalid]"."""
    matches = pattern.findall(text if isinstance(text, str) else "")
    if not matches:
        return None
    match = matches[group_select]
    if isinstance(match, tuple):  # several groups: the first non-empty one
        match = next((m for m in match if m), None)
        if match is None:
            return None
    return match.strip()


def lm_eval_normalize(text: str) -> str:
    """A prediction or reference as GSM8K's `exact_match` compares it: `regexes_to_ignore`, lower case."""
    for pattern in LM_EVAL_GSM8K_IGNORE:
        text = re.sub(pattern, "", text)
    return text.lower()


def lm_eval_exact_match(extracted: str | None, reference: str) -> bool:
    """lm-evaluation-harness's GSM8K exact match of an extracted answer ("[invalid]" when None) with the
    reference: the dataset's whole answer field, or its final answer (the same after normalising)."""
    return lm_eval_normalize("[invalid]" if extracted is None else extracted) == lm_eval_normalize(reference)


@dataclass(frozen=True)
class Extraction:
    """A named way of reading the answer from an output: `read(output)` is the answer, or None."""

    name: str
    description: str
    read: Callable[[str | None], str | None]
    lm_eval: bool = False  # an lm-evaluation-harness filter: `lm_eval_exact_match` reproduces its score


EXTRACTIONS: dict[str, Extraction] = {
    e.name: e
    for e in (
        Extraction(
            "rft",
            "rft's final-answer reading: last 'Final answer:' / 'The answer is' line, '#### N' or \\boxed{}",
            extract_final_answer,
        ),
        Extraction(
            "strict",
            "lm-evaluation-harness gsm8k strict-match: the first '#### N'",
            lambda text: lm_eval_regex(STRICT_RE, text),
            lm_eval=True,
        ),
        Extraction(
            "flexible",
            "lm-evaluation-harness gsm8k flexible-extract: the last number",
            lambda text: lm_eval_regex(FLEXIBLE_RE, text, group_select=-1),
            lm_eval=True,
        ),
        Extraction(
            "strict-cot",
            "lm-evaluation-harness gsm8k-cot strict-match: the first 'The answer is N.'",
            lambda text: lm_eval_regex(STRICT_COT_RE, text),
            lm_eval=True,
        ),
    )
}


def get_extraction(name: str) -> Extraction:
    try:
        return EXTRACTIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown answer extraction {name!r} (choose from {', '.join(EXTRACTIONS)})"
        ) from None


def extract(name: str, text: str | None) -> str | None:
    """The answer extraction `name` reads from `text`, or None (an extraction failure)."""
    return get_extraction(name).read(text)
