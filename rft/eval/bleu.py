"""BLEU (sacrebleu) of a model's reasoning against a benchmark's reference solution.

- The reasoning is the output before its final answer statement: the text before the last
  `Final answer: ...` / `The answer is ...` line, `#### N` or `\\boxed{}` that `rft.verify.answers`
  reads the answer from (`final_answer_start`); the whole output when it states none.
- The reference is the benchmark's solution, cleaned as `REFERENCE_CLEANERS` says: GSM8K's
  calculator annotations `<<48/2=24>>` and its `#### N` line are removed; MATH's solutions are kept
  as they are. An item without a reference solution is left out.
- `corpus_bleu` is sacrebleu's corpus BLEU (its defaults: 13a tokenizer, exp smoothing, case
  sensitive); per-sample scores are sacrebleu's sentence BLEU with effective order, as sacrebleu
  recommends for single sentences. Both on the 0-100 scale, with sacrebleu's signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sacrebleu.metrics import BLEU

from rft.verify.answers import final_answer_start

_CALCULATOR = re.compile(r"<<[^<>]*>>")
_OPEN_MATH_TAIL = re.compile(r"(?:\$\$?|\\\(|\\\[)\s*$")  # a `$`, `$$`, `\(` or `\[` just before the box
_GSM8K_FINAL_LINE = re.compile(r"^[ \t]*####.*$\n?", re.MULTILINE)


def reasoning_of(output: str | None) -> str:
    """The reasoning of an output: the text before its final answer statement, stripped."""
    text = output or ""
    start = final_answer_start(text)
    if start is None:
        return text.strip()
    return _OPEN_MATH_TAIL.sub("", text[:start]).strip()  # `$\\boxed{18}$`: drop the dangling `$`


def clean_gsm8k_solution(solution: str) -> str:
    """A GSM8K solution without its `<<...>>` calculator annotations and its `#### N` line."""
    return _GSM8K_FINAL_LINE.sub("", _CALCULATOR.sub("", solution)).strip()


# benchmark name -> how its reference solution is cleaned (the others are kept as they are)
REFERENCE_CLEANERS: dict[str, Callable[[str], str]] = {"gsm8k": clean_gsm8k_solution}


def reference_of(benchmark: str, solution: str | None) -> str | None:
    """A benchmark item's reference solution as BLEU reads it, or None when it has none."""
    if solution is None or not solution.strip():
        return None
    return REFERENCE_CLEANERS.get(benchmark, str.strip)(solution)


@dataclass(frozen=True)
class BleuResult:
    """Corpus BLEU over the scored samples, each sample's sentence BLEU (None: no reference), and
    sacrebleu's signatures of both."""

    corpus: float | None
    per_sample: list[float | None]
    scored: int
    signature: str
    sentence_signature: str

    def as_dict(self) -> dict[str, object]:
        return {
            "corpus": self.corpus,
            "scored": self.scored,
            "signature": self.signature,
            "sentence_signature": self.sentence_signature,
        }


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """sacrebleu's corpus BLEU of hypotheses against one reference each."""
    return float(BLEU().corpus_score(list(hypotheses), [list(references)]).score)


def sentence_bleu(hypothesis: str, reference: str) -> float:
    """sacrebleu's sentence BLEU (effective order) of one hypothesis against one reference."""
    return float(BLEU(effective_order=True).sentence_score(hypothesis, [reference]).score)


def reasoning_bleu(
    benchmark: str, outputs: Sequence[str | None], solutions: Sequence[str | None]
) -> BleuResult:
    """BLEU of each output's reasoning against its item's cleaned reference solution (same order);
    samples whose item has no reference are left out of the corpus score and get None."""
    if len(outputs) != len(solutions):
        raise ValueError(f"{len(outputs)} outputs for {len(solutions)} reference solutions")
    corpus_metric, sentence_metric = BLEU(), BLEU(effective_order=True)
    hyps: list[str] = []
    refs: list[str] = []
    per_sample: list[float | None] = []
    for output, solution in zip(outputs, solutions, strict=True):
        ref = reference_of(benchmark, solution)
        if ref is None:
            per_sample.append(None)
            continue
        hyp = reasoning_of(output)
        hyps.append(hyp)
        refs.append(ref)
        per_sample.append(float(sentence_metric.sentence_score(hyp, [ref]).score))
    corpus = float(corpus_metric.corpus_score(hyps, [refs]).score) if hyps else None
    return BleuResult(
        corpus=corpus,
        per_sample=per_sample,
        scored=len(hyps),
        signature=str(corpus_metric.get_signature()),
        sentence_signature=str(sentence_metric.get_signature()),
    )
