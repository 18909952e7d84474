"""Eval statistics (rft.eval.stats) against hand-computed values: pass@k, maj@k, accuracy with its
Wilson interval, the extraction-failure rate, the paired bootstrap and McNemar's exact test."""

from __future__ import annotations

import math
from fractions import Fraction
from math import comb, factorial

import numpy as np
import pytest

from rft.eval.stats import (
    Vote,
    accuracy,
    compare,
    extraction_failure_rate,
    maj_at_k,
    maj_at_k_curve,
    majority_vote,
    mcnemar_exact,
    mean_estimate,
    mean_pass_at_k,
    paired_bootstrap,
    pass_at_k,
    pass_at_k_curve,
    per_item_pass_at_k,
    proportion,
    same_answer,
    vote_groups,
)
from rft.schemas import Verdict
from rft.verify.grader import MATH, NUMERIC

# --- pass@k ---------------------------------------------------------------------------------------


def test_pass_at_k_by_hand_n5_c2():
    # 1 - C(3, k) / C(5, k): k=1: 1 - 3/5; k=2: 1 - 3/10; k=3: 1 - 1/10; k=4, 5: no 4-subset misses both
    assert pass_at_k_curve(5, 2) == pytest.approx({1: 0.4, 2: 0.7, 3: 0.9, 4: 1.0, 5: 1.0})


@pytest.mark.parametrize("n, c, k, want", [(5, 0, 3, 0.0), (5, 5, 1, 1.0), (1, 1, 1, 1.0), (1, 0, 1, 0.0)])
def test_pass_at_k_edges(n, c, k, want):
    assert pass_at_k(n, c, k) == want


def test_pass_at_k_equals_the_binomial_form_for_every_k():
    for n in range(1, 21):
        for c in range(n + 1):
            for k in range(1, n + 1):
                exact = 1 - Fraction(comb(n - c, k), comb(n, k))
                assert pass_at_k(n, c, k) == pytest.approx(float(exact), abs=1e-12), (n, c, k)


def test_pass_at_k_stays_stable_where_the_binomials_overflow_floats():
    # C(1100, 550) ~ 1e330 is past a float's range (float(comb(1100, 550)) overflows); the product form is not
    with pytest.raises(OverflowError):
        float(comb(1100, 550))
    exact = 1 - Fraction(comb(1097, 550), comb(1100, 550))
    assert pass_at_k(1100, 3, 550) == pytest.approx(float(exact), rel=1e-12)
    assert 0.0 < pass_at_k(2000, 1, 1) == pytest.approx(1 / 2000)


def test_pass_at_k_rejects_impossible_counts():
    for n, c, k in [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)]:
        with pytest.raises(ValueError):
            pass_at_k(n, c, k)


def test_mean_pass_at_k_over_items():
    # item 1: 2 of 5 right (above); item 2: 0 of 5; item 3: 5 of 5
    correct = [[1, 0, 1, 0, 0], [0] * 5, [1] * 5]
    got = mean_pass_at_k(correct)
    assert list(got) == [1, 2, 3, 4, 5]
    assert got[1] == pytest.approx((0.4 + 0 + 1) / 3)
    assert got[3] == pytest.approx((0.9 + 0 + 1) / 3)
    assert per_item_pass_at_k(correct, 2).tolist() == pytest.approx([0.7, 0.0, 1.0])


# --- maj@k ----------------------------------------------------------------------------------------


def test_majority_vote_groups_equivalent_answers_and_breaks_ties_by_the_earliest_first_vote():
    answers = ["3/4", "0.75", "1", "1.0", "1"]
    same = same_answer(NUMERIC)
    assert majority_vote(answers, 1, same) == Vote("3/4", 1, 0, 1)
    assert majority_vote(answers, 2, same) == Vote("3/4", 2, 0, 2)  # 3/4 and 0.75 are one answer
    assert majority_vote(answers, 3, same) == Vote("3/4", 2, 0, 3)
    assert majority_vote(answers, 4, same) == Vote("3/4", 2, 0, 4)  # 2 - 2: 3/4 voted first
    assert majority_vote(answers, 5, same) == Vote("1", 3, 2, 5)
    assert majority_vote(["7", "2"], 2, same).answer == "7"  # a 1 - 1 tie: the first sample's answer


def test_majority_vote_skips_extraction_failures():
    same = same_answer(NUMERIC)
    assert majority_vote([None, None], 2, same) == Vote(None, 0, None, 0)
    assert majority_vote([None, "5", None, "6", "5"], 5, same) == Vote("5", 2, 1, 3)
    assert majority_vote([None, "5"], 1, same).answer is None  # maj@1 of a failure is no answer


def test_maj_at_k_grades_the_majority_answer():
    answers = ["3/4", "0.75", "1", "1.0", "1"]
    assert [maj_at_k(answers, "1", k, NUMERIC) for k in range(1, 6)] == [False, False, False, False, True]
    assert [maj_at_k(answers, r"\frac{3}{4}", k, MATH) for k in (1, 4, 5)] == [True, True, False]
    assert maj_at_k([None, None, None], "3", 3, NUMERIC) is False
    with pytest.raises(ValueError):
        majority_vote(answers, 0, same_answer(NUMERIC))


def test_one_grouping_pass_serves_every_k():
    answers = ["3/4", None, "0.75", "1", "1.0", "1", "2"]
    assert vote_groups(answers, same_answer(NUMERIC)) == [0, None, 0, 1, 1, 1, 2]
    curve = maj_at_k_curve(answers, "1", NUMERIC)
    assert curve == {k: maj_at_k(answers, "1", k, NUMERIC) for k in range(1, 8)}
    assert curve == {
        1: False,
        2: False,
        3: False,
        4: False,
        5: False,
        6: True,
        7: True,
    }  # 5: 2 - 2, 3/4 first
    assert maj_at_k_curve([None, None], "1", NUMERIC) == {1: False, 2: False}


def test_maj_at_k_with_math_verify_equivalence():
    # \frac{1}{2}, 0.5 and 1/2 are one answer for math-verify; sqrt(2)/2 and \frac{\sqrt2}{2} another
    answers = [r"\frac{\sqrt{2}}{2}", r"\frac{1}{2}", "0.5", r"\sqrt{2}/2", "1/2"]
    vote = majority_vote(answers, 5, same_answer(MATH))
    assert vote == Vote(r"\frac{1}{2}", 3, 1, 5)


# --- single-model estimates -----------------------------------------------------------------------


def test_accuracy_with_a_wilson_interval_by_hand():
    # p = 0.7, n = 10, z = 1.959964: centre (p + z^2/2n)/(1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2)/(1 + z^2/n)
    z = 1.959963984540054
    p, n = 0.7, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    est = accuracy([Verdict.correct] * 7 + [Verdict.incorrect] * 2 + [Verdict.unknown])
    assert est.value == pytest.approx(0.7)
    assert est.se == pytest.approx(math.sqrt(0.21 / 10))
    assert (est.low, est.high) == pytest.approx((centre - half, centre + half))
    assert (est.low, est.high) == pytest.approx((0.3968, 0.8922), abs=1e-4)
    assert est.method == "wilson" and est.n == 10
    # at p = 0 the interval stays inside [0, 1]: [0, z^2/n / (1 + z^2/n)]
    zero = proportion([False] * 10)
    assert (zero.value, zero.se, zero.low) == (0.0, 0.0, 0.0)
    assert zero.high == pytest.approx((z * z / 10) / (1 + z * z / 10))


def test_extraction_failure_rate():
    est = extraction_failure_rate([None, "5", "  ", "7"])
    assert est.value == 0.5 and est.n == 4


def test_mean_estimate_is_a_normal_interval_on_the_sample_standard_error():
    est = mean_estimate([0.0, 1.0, 0.5, 0.5])
    se = math.sqrt((0.25 + 0.25) / 3) / 2
    assert (est.value, est.se) == pytest.approx((0.5, se))
    assert (est.low, est.high) == pytest.approx((0.5 - 1.959964 * se, 0.5 + 1.959964 * se))
    assert est.method == "normal"
    for empty in (proportion, mean_estimate):
        with pytest.raises(ValueError):
            empty([])


# --- paired comparison ----------------------------------------------------------------------------

# 10 items: A right and B wrong on 3, A wrong and B right on 1, both right on 3, both wrong on 3
A10 = [1, 1, 1, 0, 1, 1, 1, 0, 0, 0]
B10 = [0, 0, 0, 1, 1, 1, 1, 0, 0, 0]


@pytest.mark.parametrize(
    "won, lost, p",
    [
        (3, 1, 0.625),  # 2 * P(X <= 1), X ~ Bin(4, 1/2) = 2 * 5/16
        (0, 0, 1.0),  # no discordant pairs
        (5, 5, 1.0),
        (6, 1, 0.125),  # 2 * (1 + 7) / 128
        (10, 0, 2 / 1024),
        (0, 10, 2 / 1024),
    ],
)
def test_mcnemar_exact_by_hand(won, lost, p):
    assert mcnemar_exact(won, lost) == pytest.approx(p)


def test_compare_counts_and_mcnemar_on_ten_items():
    c = compare(A10, B10, name_a="adapter", name_b="base")
    assert (c.n, c.won, c.lost, c.tied) == (10, 3, 1, 6)
    assert (c.mean_a, c.mean_b, c.diff) == pytest.approx((0.6, 0.4, 0.2))
    assert c.mcnemar_p == pytest.approx(0.625)
    assert not c.significant
    assert c.verdict == "no significant difference (+20.0 pts, 95% CI [-20.0, +60.0])"
    d = c.as_dict()
    assert d["won"] == 3 and d["mcnemar_p"] == pytest.approx(0.625) and d["bootstrap"]["seed"] == 0


def _exact_bootstrap_cdf(d: list[int]) -> dict[float, float]:
    """The exact distribution of the mean of len(d) draws with replacement from d (d in {-1, 0, 1})."""
    n = len(d)
    p_up, p_down = d.count(1) / n, d.count(-1) / n
    p_tie = 1 - p_up - p_down
    pmf: dict[float, float] = {}
    for up in range(n + 1):
        for down in range(n + 1 - up):
            tie = n - up - down
            ways = factorial(n) / (factorial(up) * factorial(down) * factorial(tie))
            value = round((up - down) / n, 9)
            pmf[value] = pmf.get(value, 0.0) + ways * p_up**up * p_down**down * p_tie**tie
    xs = sorted(pmf)
    return dict(zip(xs, np.cumsum([pmf[x] for x in xs]), strict=True))


def test_paired_bootstrap_matches_the_exact_bootstrap_distribution():
    ci, diffs = paired_bootstrap(A10, B10)
    cdf = _exact_bootstrap_cdf([a - b for a, b in zip(A10, B10, strict=True)])
    # the resampled differences follow the exact distribution of the resampled mean difference
    assert max(abs((diffs <= x + 1e-9).mean() - p) for x, p in cdf.items()) < 0.01
    # percentile interval = the exact 2.5% and 97.5% quantiles: -0.2 (cdf 0.032) and 0.6 (0.5: 0.970, 0.6: 0.993)
    lo = min(x for x, p in cdf.items() if p >= 0.025)
    hi = min(x for x, p in cdf.items() if p >= 0.975)
    assert (lo, hi) == pytest.approx((-0.2, 0.6))
    assert (ci.low, ci.high) == pytest.approx((lo, hi))
    # its spread is the standard error of the mean difference: sd(d) / sqrt(n) = 0.6 / sqrt(10)
    assert diffs.std() == pytest.approx(0.6 / math.sqrt(10), rel=0.02)


def test_paired_bootstrap_is_fixed_by_its_seed():
    a, b = paired_bootstrap(A10, B10, seed=7)[1], paired_bootstrap(A10, B10, seed=7)[1]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, paired_bootstrap(A10, B10, seed=8)[1])
    assert compare(A10, B10) == compare(A10, B10)


def test_verdicts_name_the_better_model_only_when_the_interval_excludes_zero():
    a = [1] * 12 + [0] * 8 + [1] * 10 + [0] * 10  # 40 items: A wins 12, loses none
    b = [0] * 12 + [0] * 8 + [1] * 10 + [0] * 10
    ab, ba = compare(a, b, name_a="adapter", name_b="base"), compare(b, a, name_a="base", name_b="adapter")
    assert ab.significant and ab.ci.low > 0 and ab.verdict.startswith("adapter better (+30.0 pts, 95% CI [+")
    assert ba.significant and ba.ci.high < 0 and ba.verdict.startswith("adapter better (-30.0 pts, 95% CI [-")
    assert ab.mcnemar_p == pytest.approx(2 / 2**12)
    tied = compare([1, 0, 1], [1, 0, 1])
    assert (tied.ci.low, tied.ci.high, tied.mcnemar_p, tied.tied) == (0.0, 0.0, 1.0, 3)
    assert tied.verdict == "no significant difference (+0.0 pts, 95% CI [+0.0, +0.0])"


def test_compare_on_pass_at_k_per_item_means():
    a = per_item_pass_at_k([[1, 0, 1, 0, 0], [1] * 5, [0] * 5], 1)  # 0.4, 1, 0
    b = per_item_pass_at_k([[0, 0, 0, 0, 0], [1] * 5, [1, 0, 0, 0, 0]], 1)  # 0, 1, 0.2
    c = compare(a, b)
    assert (c.won, c.lost, c.tied) == (1, 1, 1)
    assert c.diff == pytest.approx((0.4 - 0.2) / 3)
    assert c.mcnemar_p is None  # not 0/1 scores
    assert c.ci.low <= c.diff <= c.ci.high


def test_compare_needs_the_same_items():
    with pytest.raises(ValueError):
        compare([1, 0], [1, 0, 1])
    with pytest.raises(ValueError):
        compare([], [])
