"""One model's results on one benchmark, per answer extraction, from its per-sample scores
(`rft.eval.scoring.score_output`): accuracy, pass@k for every k <= n, maj@k (math benchmarks, n > 1)
and the extraction-failure rate, each with its error bar, plus the per-item values that the paired
comparison (`rft.eval.stats.compare`) takes.

- Accuracy is pass@1: the share of an item's samples graded right, averaged over items (one sample:
  plain accuracy). A rate whose per-item values are all 0 or 1 (one sample per item, pass@n, maj@k)
  is a proportion, with a Wilson interval; else it is a mean of per-item values in [0, 1], with a
  normal interval on its standard error (an item's samples are not independent trials; items are).
- maj@k votes over the first k extracted answers of each item (`stats.maj_at_k_curve`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rft import benchmarks
from rft.eval.scoring import Score, extractions_of, grader_of
from rft.eval.stats import Estimate, maj_at_k_curve, mean_estimate, pass_at_k, proportion


@dataclass(frozen=True)
class ExtractionSummary:
    """A model's results on a benchmark read by one extraction. `per_item_pass[k]` and
    `per_item_maj[k]` are in item order, for `stats.compare` against another model on the same items."""

    extraction: str
    samples: int  # samples per item (the smallest, when they differ)
    accuracy: Estimate
    extraction_failures: Estimate
    pass_at_k: dict[int, Estimate]
    maj_at_k: dict[int, Estimate]
    per_item_pass: dict[int, list[float]]
    per_item_maj: dict[int, list[float]]

    def as_dict(self) -> dict[str, object]:
        return {
            "extraction": self.extraction,
            "samples": self.samples,
            "accuracy": self.accuracy.as_dict(),
            "extraction_failures": self.extraction_failures.as_dict(),
            "pass_at_k": {str(k): e.as_dict() for k, e in self.pass_at_k.items()},
            "maj_at_k": {str(k): e.as_dict() for k, e in self.maj_at_k.items()},
        }


def rate(per_item: Sequence[float]) -> Estimate:
    """A rate from per-item values in [0, 1]: a proportion (Wilson) when every value is 0 or 1 (one
    sample per item, pass@n, maj@k), else a mean (normal interval)."""
    if all(v in (0.0, 1.0) for v in per_item):
        return proportion([v == 1.0 for v in per_item])
    return mean_estimate(per_item)


def summarize(
    benchmark: str, golds: Sequence[str], scores: Sequence[Sequence[Mapping[str, Score]]]
) -> dict[str, ExtractionSummary]:
    """Per extraction of `benchmark` (registry order: the first is the headline), the summary of
    `scores[item][sample][extraction]` against `golds[item]`."""
    if len(golds) != len(scores) or not scores:
        raise ValueError(f"{len(scores)} items scored for {len(golds)} gold answers")
    n = min(len(samples) for samples in scores)
    if n < 1:
        raise ValueError("an item has no samples")
    grader = grader_of(benchmark)
    vote = benchmarks.get(benchmark).domain == "math" and n > 1
    out: dict[str, ExtractionSummary] = {}
    for name in extractions_of(benchmark):
        per_item_pass: dict[int, list[float]] = {k: [] for k in range(1, n + 1)}
        per_item_maj: dict[int, list[float]] = {k: [] for k in range(2, n + 1)} if vote else {}
        failures: list[float] = []
        for gold, samples in zip(golds, scores, strict=True):
            read = [s[name] for s in samples[:n]]
            right = sum(s.correct for s in read)
            for k in per_item_pass:
                per_item_pass[k].append(pass_at_k(n, right, k))
            failures.append(sum(s.failed_extraction for s in read) / n)
            if vote:
                curve = maj_at_k_curve(
                    [None if s.failed_extraction else s.extracted for s in read], gold, grader
                )
                for k in per_item_maj:
                    per_item_maj[k].append(float(curve[k]))
        out[name] = ExtractionSummary(
            extraction=name,
            samples=n,
            accuracy=rate(per_item_pass[1]),
            extraction_failures=rate(failures),
            pass_at_k={k: rate(v) for k, v in per_item_pass.items()},
            maj_at_k={k: rate(v) for k, v in per_item_maj.items()},
            per_item_pass=per_item_pass,
            per_item_maj=per_item_maj,
        )
    return out
