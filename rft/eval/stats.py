"""Eval statistics, plain functions over per-sample results: pass@k, maj@k, accuracy with its error
bar, the extraction-failure rate, and the paired comparison of two models on the same items.

- `pass_at_k(n, c, k)`: the unbiased estimator of Chen et al. 2021 ("Evaluating Large Language Models
  Trained on Code", the Codex paper), 1 - C(n-c, k) / C(n, k), in its numerically stable product form
  1 - prod_{i=n-c+1}^{n} (1 - k/i). `pass_at_k_curve` gives it for every k <= n.
- `majority_vote` / `maj_at_k`: majority vote over the first k extracted answers of an item. Answers
  are grouped by equivalence (the benchmark's grader: `3/4` and `0.75` are one answer); an extraction
  failure (None) casts no vote. Ties: the answer whose first vote came earliest wins (so maj@1 is the
  first sample's answer), which is deterministic and needs no random tie-break.
- `proportion(successes)`: accuracy (or any rate) with its standard error sqrt(p(1-p)/n) and a 95%
  Wilson score interval (scipy's `binomtest(...).proportion_ci(method="wilson")`), which stays inside
  [0, 1] and is sound at p near 0 or 1, unlike the normal interval. `mean_estimate(values)` is the
  same for a mean of per-item values in [0, 1] (pass@k per item): standard error std(ddof=1)/sqrt(n)
  and a normal interval, mean +- z * se.
- `compare(a, b)`: two models on the same items (per-item scores in item order): the difference
  mean(a) - mean(b) with a paired bootstrap percentile interval (numpy, fixed seed, items resampled
  with replacement, the same resample for both models), the counts won/lost/tied, McNemar's exact
  p-value when the scores are 0/1 (`scipy.stats.binomtest` on the discordant pairs, two-sided; 1.0
  when there are none), and a verdict: "no significant difference" when the interval contains 0,
  else "<A> better" or "<B> better"; both with the difference and the interval in points (x 100).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from rft.schemas import Verdict
from rft.verify.grader import AnswerGrader

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
_CHUNK = 1_000  # resamples drawn at a time: memory stays ~ _CHUNK x items


# --- pass@k --------------------------------------------------------------------------------------


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k of one item with `c` correct among `n` samples (Chen et al. 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:  # every k-subset holds a correct sample
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_curve(n: int, c: int) -> dict[int, float]:
    """pass@k of one item for every k from 1 to n."""
    return {k: pass_at_k(n, c, k) for k in range(1, n + 1)}


def per_item_pass_at_k(correct: Sequence[Sequence[bool]], k: int) -> np.ndarray:
    """pass@k of each item from its samples' correctness (items may have different sample counts >= k)."""
    return np.array([pass_at_k(len(s), int(sum(bool(x) for x in s)), k) for s in correct], dtype=float)


def mean_pass_at_k(correct: Sequence[Sequence[bool]]) -> dict[int, float]:
    """The benchmark's pass@k (mean over items) for every k up to the smallest sample count."""
    if not correct:
        raise ValueError("pass@k of no items")
    n = min(len(s) for s in correct)
    return {k: float(per_item_pass_at_k(correct, k).mean()) for k in range(1, n + 1)}


# --- maj@k ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vote:
    """The outcome of a majority vote: the winning answer (its first occurrence), its votes, the
    sample index of its first vote, and the number of answers that voted (extraction failures do not)."""

    answer: str | None
    votes: int
    first: int | None
    voters: int


def vote_groups(answers: Sequence[str | None], same: Callable[[str, str], bool]) -> list[int | None]:
    """The group of each answer (None for an extraction failure): an answer joins the first earlier
    group whose first answer it is the same as (`same(first, answer)`), else starts a new one. A
    prefix's groups are the prefix of the groups, so one pass serves maj@k for every k."""
    firsts: list[int] = []  # the sample index of each group's first answer
    groups: list[int | None] = []
    for i, ans in enumerate(answers):
        if ans is None:
            groups.append(None)
            continue
        found = next((g for g, first in enumerate(firsts) if same(answers[first], ans)), None)
        if found is None:
            found = len(firsts)
            firsts.append(i)
        groups.append(found)
    return groups


def majority_vote(
    answers: Sequence[str | None],
    k: int,
    same: Callable[[str, str], bool],
    groups: Sequence[int | None] | None = None,
) -> Vote:
    """Majority vote over the first `k` answers; `same(a, b)` says whether two answers are one (see
    `vote_groups`; pass `groups` when they are already known). Ties go to the group whose first vote
    came earliest. No answer at all (every one None) gives `Vote(None, 0, None, 0)`."""
    if k < 1:
        raise ValueError(f"maj@k needs k >= 1 (k={k})")
    groups = list(groups) if groups is not None else vote_groups(answers[:k], same)
    votes = Counter(g for g in groups[:k] if g is not None)
    if not votes:
        return Vote(None, 0, None, 0)
    # group ids count up in order of first vote: the smallest id among the most voted came first
    best = min(votes, key=lambda g: (-votes[g], g))
    first = groups.index(best)
    return Vote(answers[first], votes[best], first, sum(votes.values()))


def same_answer(grader: AnswerGrader) -> Callable[[str, str], bool]:
    """Equivalence of two predicted answers through a grader: `b` graded correct against `a` as gold."""
    return lambda a, b: grader.check(b, a).verdict is Verdict.correct


def maj_at_k(answers: Sequence[str | None], gold: str, k: int, grader: AnswerGrader) -> bool:
    """Whether the majority answer of an item's first `k` extracted answers is right (`grader`);
    no answer is wrong."""
    vote = majority_vote(answers, k, same_answer(grader))
    return vote.answer is not None and grader.check(vote.answer, gold).verdict is Verdict.correct


def maj_at_k_curve(answers: Sequence[str | None], gold: str, grader: AnswerGrader) -> dict[int, bool]:
    """maj@k of one item for every k from 1 to len(answers), from one grouping pass (the grader is
    asked once per distinct winner)."""
    same = same_answer(grader)
    groups = vote_groups(answers, same)
    right: dict[int | None, bool] = {}
    curve: dict[int, bool] = {}
    for k in range(1, len(answers) + 1):
        vote = majority_vote(answers, k, same, groups)
        if vote.first not in right:
            right[vote.first] = (
                vote.answer is not None and grader.check(vote.answer, gold).verdict is Verdict.correct
            )
        curve[k] = right[vote.first]
    return curve


# --- single-model estimates ----------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A mean over n items with its standard error and a confidence interval (`method` says which)."""

    value: float
    se: float
    low: float
    high: float
    n: int
    method: str
    confidence: float = CONFIDENCE

    def as_dict(self) -> dict[str, float | int | str]:
        return {
            "value": self.value,
            "se": self.se,
            "ci_low": self.low,
            "ci_high": self.high,
            "n": self.n,
            "ci_method": self.method,
            "confidence": self.confidence,
        }


def proportion(successes: Sequence[bool], confidence: float = CONFIDENCE) -> Estimate:
    """A rate (accuracy, extraction failures) with se sqrt(p(1-p)/n) and the Wilson score interval."""
    n = len(successes)
    if n == 0:
        raise ValueError("a rate over no items")
    k = int(sum(bool(x) for x in successes))
    p = k / n
    ci = sps.binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Estimate(p, math.sqrt(p * (1 - p) / n), float(ci.low), float(ci.high), n, "wilson", confidence)


def accuracy(verdicts: Sequence[Verdict | bool]) -> Estimate:
    """Accuracy: the share graded correct (unknown, e.g. no answer read, counts as wrong)."""
    return proportion([v is Verdict.correct if isinstance(v, Verdict) else bool(v) for v in verdicts])


def extraction_failure_rate(extracted: Sequence[str | None]) -> Estimate:
    """The share of outputs from which no answer could be read (None or blank)."""
    return proportion([a is None or not str(a).strip() for a in extracted])


def mean_estimate(values: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """A mean of per-item values (e.g. pass@k per item) with se std(ddof=1)/sqrt(n) and a normal interval."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        raise ValueError("a mean over no items")
    mean = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(n)) if n > 1 else 0.0
    z = float(sps.norm.ppf(0.5 + confidence / 2))
    return Estimate(mean, se, mean - z * se, mean + z * se, n, "normal", confidence)


# --- paired comparison ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    confidence: float = CONFIDENCE

    def contains(self, x: float) -> bool:
        return self.low <= x <= self.high


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> tuple[Interval, np.ndarray]:
    """The percentile interval of mean(a) - mean(b) over bootstrap resamples of the items (the same
    items for both: the pairing), and the resampled differences. Deterministic for a seed."""
    d = _paired(a, b)
    rng = np.random.default_rng(seed)
    diffs = np.empty(resamples, dtype=float)
    for start in range(0, resamples, _CHUNK):
        size = min(_CHUNK, resamples - start)
        idx = rng.integers(0, len(d), size=(size, len(d)))
        diffs[start : start + size] = d[idx].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return Interval(float(low), float(high), confidence), diffs


def mcnemar_exact(won: int, lost: int) -> float:
    """McNemar's exact two-sided p-value from the discordant pairs (A right and B wrong: `won`;
    A wrong and B right: `lost`): a binomial test of won out of won + lost at 1/2; 1.0 with none."""
    if won + lost == 0:
        return 1.0
    return float(sps.binomtest(won, won + lost, 0.5, alternative="two-sided").pvalue)


@dataclass(frozen=True)
class Comparison:
    """Model A against model B on the same n items: diff = mean(A) - mean(B)."""

    name_a: str
    name_b: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci: Interval
    won: int  # items where A scored higher than B
    lost: int  # items where B scored higher than A
    tied: int
    mcnemar_p: float | None  # None when the scores are not all 0/1
    resamples: int
    seed: int

    @property
    def significant(self) -> bool:
        return not self.ci.contains(0.0)

    @property
    def verdict(self) -> str:
        pct = int(round(self.ci.confidence * 100))
        ci = f"{self.diff * 100:+.1f} pts, {pct}% CI [{self.ci.low * 100:+.1f}, {self.ci.high * 100:+.1f}]"
        if not self.significant:
            return f"no significant difference ({ci})"
        better = self.name_a if self.ci.low > 0 else self.name_b
        return f"{better} better ({ci})"

    def as_dict(self) -> dict[str, object]:
        return {
            "a": self.name_a,
            "b": self.name_b,
            "n": self.n,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "diff": self.diff,
            "ci_low": self.ci.low,
            "ci_high": self.ci.high,
            "confidence": self.ci.confidence,
            "won": self.won,
            "lost": self.lost,
            "tied": self.tied,
            "mcnemar_p": self.mcnemar_p,
            "significant": self.significant,
            "verdict": self.verdict,
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "method": "percentile, paired"},
        }


def compare(
    a: Sequence[float | bool],
    b: Sequence[float | bool],
    *,
    name_a: str = "A",
    name_b: str = "B",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    confidence: float = CONFIDENCE,
) -> Comparison:
    """Model A against model B from their per-item scores on the same items, in the same order:
    correctness (0/1) or per-item means such as pass@k."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ci, _ = paired_bootstrap(x, y, resamples=resamples, seed=seed, confidence=confidence)
    won, lost = int((x > y).sum()), int((x < y).sum())
    binary = bool(np.isin(x, (0.0, 1.0)).all() and np.isin(y, (0.0, 1.0)).all())
    return Comparison(
        name_a=name_a,
        name_b=name_b,
        n=len(x),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        diff=float(x.mean() - y.mean()),
        ci=ci,
        won=won,
        lost=lost,
        tied=len(x) - won - lost,
        mcnemar_p=mcnemar_exact(won, lost) if binary else None,
        resamples=resamples,
        seed=seed,
    )


def _paired(a: Sequence[float], b: Sequence[float]) -> np.ndarray:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"paired scores need the same items: {x.shape} vs {y.shape}")
    if len(x) == 0:
        raise ValueError("a paired comparison of no items")
    return x - y
