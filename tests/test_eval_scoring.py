"""Eval scoring through rft/verify: lm-evaluation-harness's GSM8K extractions beside rft's, the
registry's grader per benchmark, gold answers through the prediction path (all of GSM8K test and
MATH-500), and BLEU of the reasoning against the reference solution."""

from __future__ import annotations

import json
import time

import pytest

from rft import benchmarks
from rft.errors import ConfigError
from rft.eval.bleu import (
    clean_gsm8k_solution,
    corpus_bleu,
    reasoning_bleu,
    reasoning_of,
    reference_of,
    sentence_bleu,
)
from rft.eval.scoring import extractions_of, grader_of, score_output
from rft.eval.stats import compare
from rft.eval.summary import summarize
from rft.problems import load_benchmark
from rft.schemas import Problem, ProblemSource, Verdict
from rft.verify.answers import clean_answer, gold_answer, math_equal
from rft.verify.extract import EXTRACTIONS, extract, get_extraction, lm_eval_exact_match, lm_eval_normalize
from rft.verify.grader import GRADERS, grader_for

# --- lm-evaluation-harness's GSM8K extractions ----------------------------------------------------

# (output, strict, flexible, strict-cot, rft): what lm-eval's RegexFilter gives for gsm8k.yaml's
# strict-match / flexible-extract and gsm8k-cot-zeroshot.yaml's strict-match (None = its "[invalid]")
OUTPUTS = [
    ("Janet makes 9 * 2 = 18 dollars.\n#### 18", "18", "18", None, "18"),
    ("The answer is 18.", None, "18.", "18", "18"),
    ("#### 1,234.\nDone", "1,234.", "1,234.", None, "1,234"),
    ("It costs $18.00 in total", None, "$18.00", None, None),  # flexible keeps the '$'
    ("#### 5\n#### 7", "5", "7", None, "7"),  # strict: take the first match; flexible: group_select -1
    ("x = -3", None, "-3", None, None),  # one digit: the second group (-?[0-9]+)
    ("1, 2, 3.", None, "3.", None, None),
    ("####18", None, "18", None, "18"),  # strict needs '#### ' with the space
    ("", None, None, None, None),
    ("She has 5 apples. The answer is 7. Check: 7 = 7", None, "7", "7.", "7"),  # cot's '.' is any char
    ("The answer is \\boxed{12}.", None, "12", None, "12"),
    ("Total: $1,000,000", None, "$1,000,000", None, None),
]


@pytest.mark.parametrize("output, strict, flexible, strict_cot, rft", OUTPUTS)
def test_extractions_read_as_lm_eval_does(output, strict, flexible, strict_cot, rft):
    assert extract("strict", output) == strict
    assert extract("flexible", output) == flexible
    assert extract("strict-cot", output) == strict_cot
    assert extract("rft", output) == rft


def test_extraction_registry():
    assert {"rft", "strict", "flexible", "strict-cot"} <= set(EXTRACTIONS)
    assert all(e.name == name and e.description for name, e in EXTRACTIONS.items())
    assert [n for n, e in EXTRACTIONS.items() if e.lm_eval] == ["strict", "flexible", "strict-cot"]
    with pytest.raises(ConfigError, match="unknown answer extraction 'loose'"):
        get_extraction("loose")


@pytest.mark.parametrize(
    "extracted, reference, match",
    [
        ("18", "18", True),
        ("18.", "18", True),  # regexes_to_ignore drops a final '.'
        ("$18", "18", True),  # ... and '$'
        ("1,234", "1234", True),  # ... and ','
        ("$18.00", "18", False),  # exact match: 18.00 is not 18 (rft's numeric grader says it is)
        (None, "18", False),  # "[invalid]"
        ("18", "She makes $18.\n#### 18", True),  # the whole answer field: '(?s).*#### ' drops the rest
    ],
)
def test_lm_eval_exact_match(extracted, reference, match):
    assert lm_eval_exact_match(extracted, reference) is match


def test_lm_eval_normalize_ignores_case():
    assert lm_eval_normalize("ABC $1,0.") == "abc 10"


def test_gsm8k_scores_each_extraction_with_numeric_equivalence():
    problem = Problem(id="p", question="q", answer="18")
    scores = score_output("gsm8k", problem, "9 * 2 = $18.00 in all.\nThe answer is 18.00.")
    assert list(scores) == ["rft", "strict", "flexible"]
    assert scores["rft"].correct and scores["rft"].extracted == "18.00"
    assert scores["strict"].verdict is Verdict.unknown and scores["strict"].failed_extraction
    assert scores["strict"].lm_eval_exact_match is False
    assert scores["flexible"].extracted == "18.00." and scores["flexible"].correct
    assert scores["flexible"].lm_eval_exact_match is False  # '18.00' is not '18' by exact match
    assert scores["rft"].lm_eval_exact_match is None  # not an lm-eval extraction
    assert scores["flexible"].as_dict() == {
        "extracted": "18.00.",
        "verdict": "correct",
        "detail": "numeric: numbers equal",
        "lm_eval_exact_match": False,
    }
    wrong = score_output("gsm8k", problem, "#### 19")
    assert [s.verdict for s in wrong.values()] == [Verdict.incorrect] * 3


def test_math_is_scored_by_math_verify_through_rfts_reading():
    problem = Problem(id="p", question="q", answer=r"\frac{14}{3}")
    scores = score_output("math500", problem, r"So $f = \dfrac{28}{6}$, i.e. $\boxed{\frac{28}{6}}$.")
    assert list(scores) == ["rft"] and scores["rft"].correct
    assert "math-verify" in scores["rft"].detail
    assert extractions_of("math") == ("rft",)


def test_code_benchmarks_are_not_scored_by_an_answer():
    for name in ("humaneval", "mbpp"):
        with pytest.raises(ConfigError, match="not scored by reading an answer"):
            grader_of(name)
    with pytest.raises(ConfigError, match="unknown benchmark"):
        grader_of("gsm9k")


def test_every_registered_extraction_and_grader_exists():
    for spec in benchmarks.REGISTRY.values():
        assert all(name in EXTRACTIONS for name in spec.extractions), spec.name
        if spec.extractions:
            assert spec.grader in GRADERS, spec.name


# --- the registry's grader is grader_for's ---------------------------------------------------------


def test_grader_for_follows_the_registry_for_a_known_benchmarks_items():
    numeric_gold = Problem(
        id="p", question="q", answer="10", source=ProblemSource(kind="file", name="t", benchmark="MATH-500")
    )
    assert grader_for(numeric_gold).name == "math"  # MATH-500's grader for every item, numeric golds too
    assert grader_for(numeric_gold.model_copy(update={"source": None})).name == "numeric"  # by its gold
    gsm8k = numeric_gold.model_copy(
        update={"source": ProblemSource(kind="file", name="t", benchmark="GSM8K")}
    )
    assert grader_for(gsm8k).name == "numeric"


# --- gold through the prediction path -------------------------------------------------------------


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def test_gsm8k_test_gold_scores_100_percent_through_the_prediction_path(bench_dir):
    problems = load_benchmark("gsm8k", benchmark_dir=bench_dir)
    rows = [json.loads(line) for line in (bench_dir / "gsm8k/test.jsonl").read_text().splitlines()]
    assert len(problems) == len(rows) == 1319
    assert {grader_for(p).name for p in problems} == {"numeric"}

    def run():
        failures = []
        for p, row in zip(problems, rows, strict=True):
            # as a model writes it: GSM8K's own format (the answer field as it is, `#### 1,000` included),
            # and a chat model's last line
            for output in (
                row["answer"],
                f"{clean_gsm8k_solution(row['answer'])}\nThe answer is {p.answer}.",
            ):
                scores = score_output("gsm8k", p, output)
                wanted = ["rft", "strict", "flexible"] if "####" in output else ["rft", "flexible"]
                failures += [(p.id, n, scores[n]) for n in wanted if not scores[n].correct]
                if "####" in output:
                    failures += [
                        (p.id, "lm-eval", s) for s in scores.values() if s.lm_eval_exact_match is False
                    ]
        return failures

    failures, seconds = _timed(run)
    assert failures == [], failures[:5]
    assert seconds < 30, seconds


def test_math500_gold_scores_100_percent_through_the_prediction_path(bench_dir):
    problems = load_benchmark("math500", benchmark_dir=bench_dir)
    assert len(problems) == 500
    assert {grader_for(p).name for p in problems} == {"math"}

    def run():
        failures = []
        rendered_items = 0
        for p in problems:
            outputs = (
                f"Working it out step by step.\nThe answer is $\\boxed{{{p.answer}}}$.",
                f"Final answer: {p.answer}",
                p.solution,  # the reference solution itself: its last box against the answer field
            )
            # the gold as a model may render it: \dfrac for \frac, no \left / \right (68 items): math-verify decides
            rendered = p.answer.replace(r"\frac", r"\dfrac").replace(r"\left", "").replace(r"\right", "")
            if rendered != p.answer:
                rendered_items += 1
                outputs += (f"The answer is $\\boxed{{{rendered}}}$.",)
            for output in outputs:
                score = score_output("math500", p, output)["rft"]
                if not score.correct:
                    failures.append((p.id, output[-80:], score))
            # math-verify reads every gold (equal to itself), so an equivalent answer written otherwise
            # is decided by it rather than left unknown
            gold = clean_answer(gold_answer(p.answer))
            if math_equal(gold, gold) is not True:
                failures.append((p.id, gold, "math-verify cannot read the gold"))
        assert rendered_items == 68
        return failures

    failures, seconds = _timed(run)
    assert failures == [], failures[:5]
    assert seconds < 30, seconds


# --- BLEU -----------------------------------------------------------------------------------------


def test_bleu_known_values():
    assert sentence_bleu("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(100)
    # 1-4 gram precisions 5/6, 3/5, 2/4, 1/3 and no brevity penalty: (5/6 * 3/5 * 2/4 * 1/3) ** (1/4)
    assert sentence_bleu("the cat sat on the mat", "the cat sat on a mat") == pytest.approx(53.7285, abs=1e-3)
    # brevity penalty exp(1 - 6/5) with every n-gram matched
    assert corpus_bleu(["the cat sat on the"], ["the cat sat on the mat"]) == pytest.approx(81.8731, abs=1e-3)
    # a corpus sums the counts: (11/12 * 8/10 * 6/8 * 4/6) ** (1/4)
    two = corpus_bleu(["a b c d e f", "the cat sat on the mat"], ["a b c d e f", "the cat sat on a mat"])
    assert two == pytest.approx(100 * (11 / 12 * 8 / 10 * 6 / 8 * 4 / 6) ** 0.25, abs=1e-3)
    assert sentence_bleu("", "the cat") == 0.0


@pytest.mark.parametrize(
    "output, reasoning",
    [
        ("9 * 2 = 18.\nThe answer is 18.", "9 * 2 = 18."),
        ("9 * 2 = 18.\nFinal answer: 18", "9 * 2 = 18."),
        ("9 * 2 = 18.\n#### 18", "9 * 2 = 18."),
        ("So the total is $\\boxed{18}$.", "So the total is"),
        ("Step 1: 9 * 2 = 18\n\\[\\boxed{18}\\]", "Step 1: 9 * 2 = 18"),
        ("no final answer here", "no final answer here"),
        (None, ""),
    ],
)
def test_reasoning_is_the_text_before_the_final_answer(output, reasoning):
    assert reasoning_of(output) == reasoning


def test_references_are_cleaned_per_benchmark():
    raw = "Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\nShe makes 9 * 2 = $<<9*2=18>>18.\n#### 18"
    clean = "Janet sells 16 - 3 - 4 = 9 duck eggs a day.\nShe makes 9 * 2 = $18."
    assert clean_gsm8k_solution(raw) == clean
    assert reference_of("gsm8k", raw) == clean
    math_solution = r"We have $x = \boxed{2}$.  <<not calculator>>"
    assert reference_of("math500", math_solution) == math_solution  # MATH solutions as they are
    assert reference_of("gsm8k", None) is None and reference_of("math", "  ") is None


def test_reasoning_bleu_on_gsm8k_gold_solutions(bench_dir):
    problems = load_benchmark("gsm8k", benchmark_dir=bench_dir)[:50]
    refs = [p.solution for p in problems]
    # a model that writes the reference's reasoning, then its own final-answer line
    outputs = [f"{clean_gsm8k_solution(p.solution)}\nThe answer is {p.answer}." for p in problems]
    same = reasoning_bleu("gsm8k", outputs, refs)
    assert same.corpus == pytest.approx(100) and same.scored == 50
    assert same.per_sample == pytest.approx([100.0] * 50)
    assert "tok:13a" in same.signature and "eff:yes" in same.sentence_signature
    # the reasoning of another item scores far lower; an item without a reference is left out
    shifted = reasoning_bleu("gsm8k", outputs[1:] + outputs[:1], refs[:-1] + [None])
    assert shifted.corpus < 20 and shifted.per_sample[-1] is None and shifted.scored == 49
    assert shifted.as_dict()["scored"] == 49
    with pytest.raises(ValueError):
        reasoning_bleu("gsm8k", outputs, refs[:3])


# --- one model's summary ---------------------------------------------------------------------------


def _scored(benchmark, golds, outputs):
    problems = [Problem(id=f"p{i}", question="q", answer=g) for i, g in enumerate(golds)]
    return [[score_output(benchmark, p, o) for o in outs] for p, outs in zip(problems, outputs, strict=True)]


def test_summary_of_three_samples_per_item():
    golds = ["18", "5"]
    outputs = [["#### 18", "The answer is 18.", "no idea"], ["#### 4", "#### 5", "The answer is 5."]]
    summary = summarize("gsm8k", golds, _scored("gsm8k", golds, outputs))
    assert list(summary) == ["rft", "strict", "flexible"]
    rft, strict, flexible = summary["rft"], summary["strict"], summary["flexible"]
    assert rft.samples == 3
    # rft reads 18, 18, - and 4, 5, 5: 2 of 3 right on each item
    assert rft.accuracy.value == pytest.approx(2 / 3) and rft.accuracy.method == "normal"
    assert rft.per_item_pass[1] == pytest.approx([2 / 3, 2 / 3])
    assert rft.pass_at_k[2].value == 1.0 and rft.pass_at_k[2].method == "wilson"  # 1 - C(1,2)/C(3,2)
    assert rft.extraction_failures.value == pytest.approx((1 / 3 + 0) / 2)
    # maj@2 of [4, 5] is 4 (a tie: the first vote wins); maj@3 of [4, 5, 5] is 5
    assert rft.per_item_maj == {2: [1.0, 0.0], 3: [1.0, 1.0]}
    assert rft.maj_at_k[3].value == 1.0
    # strict reads only '#### N': 18, -, - and 4, 5, -
    assert strict.per_item_pass[1] == pytest.approx([1 / 3, 1 / 3])
    assert strict.extraction_failures.value == pytest.approx((2 / 3 + 1 / 3) / 2)
    assert flexible.per_item_pass[1] == pytest.approx([2 / 3, 2 / 3])  # '18.' is 18; 'no idea' has no number
    d = rft.as_dict()
    assert set(d) == {"extraction", "samples", "accuracy", "extraction_failures", "pass_at_k", "maj_at_k"}
    assert list(d["pass_at_k"]) == ["1", "2", "3"] and list(d["maj_at_k"]) == ["2", "3"]


def test_summary_of_one_sample_per_item_feeds_the_paired_comparison():
    golds = ["1", "2", "3", "4"]
    base = summarize(
        "math500", golds, _scored("math500", golds, [["\\boxed{1}"], ["\\boxed{0}"], ["?"], ["4"]])
    )
    tuned = summarize(
        "math500", golds, _scored("math500", golds, [["\\boxed{1}"], ["\\boxed{2}"], ["\\boxed{3}"], ["4"]])
    )
    b, t = base["rft"], tuned["rft"]
    assert (b.samples, b.maj_at_k, b.accuracy.method) == (1, {}, "wilson")
    assert b.per_item_pass[1] == [1.0, 0.0, 0.0, 0.0]  # '?' and a bare '4' state no final answer
    assert b.extraction_failures.value == 0.5
    c = compare(t.per_item_pass[1], b.per_item_pass[1], name_a="tuned", name_b="base")
    assert (c.won, c.lost, c.tied) == (2, 0, 2)
    assert c.mcnemar_p == pytest.approx(0.5)  # 2 * (1/2)^2
    with pytest.raises(ValueError):
        summarize("math500", golds[:3], [])
