"""Decontamination against the real benchmark files: normalisation, the containment index, the
classic n-gram rules, recall per contamination family, false positives, shipped fingerprints."""

from __future__ import annotations

import hashlib
import json
import random
import time
from pathlib import Path

import numpy as np
import pytest

from rft.errors import ConfigError, InputError
from rft.validate import fingerprints
from rft.validate.benchmarks import parse_benchmarks, resolve_sources
from rft.validate.config import ValidateConfig
from rft.validate.decontam import METHODS, Entry, LexicalIndex, entry_grams
from rft.validate.families import FAMILIES, synthetic_record
from rft.validate.index import build_index
from rft.validate.lexical import lexical_flags
from rft.validate.normalize import NUM, mask, tokenize
from rft.validate.semantic import semantic_flags, split_weak

DATA = Path(__file__).parent / "data"
FLOORS = {"verbatim": 0.99, "format_noise": 0.99, "numbers_swapped": 0.99, "numbers_names_swapped": 0.90}
FP_CEILING = 0.005


def _index(texts: dict[str, str], method: str = "containment", **kw) -> LexicalIndex:
    m = METHODS[method]
    items = [entry_grams(Entry("b", k, "question"), v, m) for k, v in texts.items()]
    return LexicalIndex(m, items, **kw)


# --- unit ----------------------------------------------------------------------------------------
def test_normalise_masks_numbers_and_unifies_latex():
    assert tokenize("Janet’s ducks lay 16 eggs; $1,250.50!") == [
        "janet",
        "s",
        "ducks",
        "lay",
        "16",
        "eggs",
        "1250.50",
    ]
    assert tokenize(r"\(\dfrac{1}{2}\)") == tokenize(r"$\frac{1}{2}$") == ["frac", "1", "2"]
    assert tokenize(r"\left( x \right)") == ["x"]
    assert mask(tokenize("She has three cats and 12 dogs")) == ["she", "has", NUM, "cats", "and", NUM, "dogs"]


def test_containment_is_the_share_of_item_ngrams_found():
    item = "a farmer keeps 12 goats and 7 geese on a hillside farm near the river every spring"
    idx = _index({"i1": item})
    half = " ".join(item.split()[:9])
    [full], [part], none = idx.score(
        [[f"Question: {item.replace('12', '40')}"], [half], ["nothing alike here at all"]]
    )
    assert full.score == 1.0 and full.shared == idx.size[0]
    assert 0.2 < part.score < 0.6
    assert none == []


def test_common_ngrams_are_ignored():
    """Boilerplate shared by many items does not count towards any item's score."""
    boiler = "what is the sum of the ages of"
    texts = {
        f"i{k}": f"{boiler} the {w} children in the village {w} school today"
        for k, w in enumerate("red blue green gold pink gray teal navy cyan lime".split())
    }
    idx = _index(texts, max_df=3, min_grams=1)
    assert idx.common_dropped > 0
    hits = idx.score([[f"{boiler} my two cousins"]])[0]
    assert hits == []


def test_short_items_need_an_exact_normalised_match():
    idx = _index({"short": "Simplify $\\sqrt{242}$."})
    assert idx.exact_only[0]
    [hit] = idx.score([["Please SIMPLIFY \\( \\sqrt{242} \\) now."]])[0]
    assert hit.exact and hit.score == 1.0
    assert idx.score([["Simplify $\\sqrt{243}$."]])[0] == []


def test_classic_rules_flag_one_shared_ngram():
    item = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    for method, n in (("ngram13", 13), ("ngram8", 8)):
        idx = _index({"i": item}, method)
        words = item.split()
        assert idx.score([[" ".join(words[:n])]])[0], method
        assert idx.score([[" ".join(words[: n - 1])]])[0] == [], method


def test_evidence_is_the_longest_overlapping_span():
    item = "Toulouse has twice as many sheep as Charleston. Charleston has 4 times as many sheep as Seattle."
    idx = _index({"sheep": item})
    segs = [
        ("question", "Count animals."),
        (
            "step n2",
            "Recall: Toulouse has twice as many sheep as Charleston. Charleston has 9 times as many sheep as Seattle. So",
        ),
    ]
    [hit] = idx.score([[t for _, t in segs]])[0]
    ev = idx.evidence(segs, hit)
    assert ev["where"] == "step n2"
    assert ev["span"].startswith("toulouse has twice") and "9 times" in ev["span"]


def test_bad_benchmark_and_method_names():
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm9k'"):
        parse_benchmarks("gsm8k,gsm9k")
    with pytest.raises(ConfigError, match="--method: unknown method 'ngram5'"):
        ValidateConfig(method="ngram5")


def test_unreadable_benchmark_file(tmp_path: Path):
    bad = tmp_path / "gsm8k.jsonl"
    bad.write_text('{"question": "a", "answer": "b"}\n{not json\n')
    with pytest.raises(InputError, match=r"gsm8k.jsonl:2: malformed JSON"):
        build_index(ValidateConfig(benchmarks=["gsm8k"], benchmark_paths={"gsm8k": bad}, hub=False))


# --- sources and fingerprints --------------------------------------------------------------------
def test_hub_unreachable_falls_back_fast(monkeypatch):
    """No offline env var and a Hub that does not answer: fingerprints within seconds, and said so."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    t = time.perf_counter()
    sources = resolve_sources(["gsm8k", "arc"])
    assert time.perf_counter() - t < 5
    assert {s.kind for s in sources.values()} == {"fingerprints"}
    assert "unreachable" in sources["gsm8k"].note


def test_offline_env_falls_back_to_fingerprints():
    sources = resolve_sources(["mbpp"])  # conftest sets HF_HUB_OFFLINE=1
    assert sources["mbpp"].kind == "fingerprints" and "Hub" in sources["mbpp"].note


def test_classic_methods_need_benchmark_text():
    with pytest.raises(ConfigError, match="--method ngram13 needs benchmark text"):
        build_index(ValidateConfig(method="ngram13", hub=False))


def test_fingerprints_provenance_matches_the_real_files(bench_dir: Path):
    prov = json.loads((fingerprints.DATA_DIR / fingerprints.PROVENANCE).read_text())
    sources_md = (bench_dir / "SOURCES.md").read_text()
    for entries in prov["sources"].values():
        for e in entries:
            assert e["sha256"] in sources_md, e["file"]
    npz = fingerprints.DATA_DIR / fingerprints.NPZ
    assert hashlib.sha256(npz.read_bytes()).hexdigest() == prov["npz_sha256"]
    assert npz.stat().st_size < 4_000_000  # compact: a few MB at most
    assert prov["normalisation"] and prov["embeddings"]["model"].endswith("all-MiniLM-L6-v2")


def test_fingerprints_hold_no_benchmark_text(bench_dir: Path):
    question = json.loads((bench_dir / "gsm8k" / "test.jsonl").open().readline())["question"]
    with np.load(fingerprints.DATA_DIR / fingerprints.NPZ) as z:
        strings = [str(x) for k in z.files if z[k].dtype.kind == "U" for x in z[k].ravel()]
    assert strings and max(len(s) for s in strings) <= 64  # ids, field names and a sha256 only
    assert not any("ducks" in s for s in strings) and question not in strings


def test_fingerprints_build_is_reproducible(bench_dir: Path, tmp_path: Path):
    fingerprints.build(bench_dir, tmp_path, with_embeddings=False)
    with (
        np.load(tmp_path / fingerprints.NPZ) as new,
        np.load(fingerprints.DATA_DIR / fingerprints.NPZ) as shipped,
    ):
        for key in ("item_id", "containment_indptr", "containment_grams", "exact_hash", "exact_masked_hash"):
            assert np.array_equal(new[key], shipped[key]), key


# --- recall and false positives on real data -----------------------------------------------------
@pytest.fixture(scope="session")
def dir_index(bench_dir: Path):
    return build_index(ValidateConfig(benchmark_dir=bench_dir, hub=False))


@pytest.fixture(scope="session")
def shipped_index():
    return build_index(ValidateConfig(hub=False, semantic=True))


@pytest.fixture(scope="session")
def planted(bench_dir: Path) -> dict[str, list[tuple[str, str]]]:
    """Every GSM8K test and MATH-500 item, disguised per family."""
    from rft.validate.benchmarks import load_dir

    items = load_dir("gsm8k", bench_dir).items
    items += [it for it in load_dir("math", bench_dir).items if it.item_id.startswith("math500/")]
    out = {}
    for fam, fn in FAMILIES.items():
        rng = random.Random(7)
        out[fam] = [(it.item_id, fn(it.fields["question"], rng)) for it in items]
    return out


@pytest.fixture(scope="session")
def clean_records(bench_dir: Path):
    """1,000 clean records: GSM8K train questions with their solutions as steps and messages."""
    rows = [json.loads(x) for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()[:1000]]
    return [(i + 1, synthetic_record(f"clean{i}", r["question"], r["answer"])) for i, r in enumerate(rows)]


def _recall(index, texts: list[str]) -> float:
    return sum(1 for h in index.lexical.score([[t] for t in texts]) if h) / len(texts)


@pytest.mark.parametrize("which", ["dir_index", "shipped_index"])
def test_recall_per_family_and_false_positives(which, request, planted, clean_records):
    index = request.getfixturevalue(which)
    recalls = {fam: _recall(index, [t for _, t in pairs]) for fam, pairs in planted.items()}
    flagged = lexical_flags(clean_records, index)
    fp = len(flagged) / len(clean_records)
    print(
        f"\n{which}: " + ", ".join(f"{k} {v:.1%}" for k, v in recalls.items()) + f"; false positives {fp:.2%}"
    )
    for fam, floor in FLOORS.items():
        assert recalls[fam] >= floor, (fam, recalls[fam])
    assert recalls["first_half"] >= 0.8
    assert fp <= FP_CEILING, [(f.record_id, f.item_id, f.evidence) for f in flagged]


def test_planted_records_name_item_and_evidence(dir_index, planted):
    item_id, text = planted["numbers_swapped"][0]
    rec = synthetic_record("leak", "Solve step by step.", f"Restating: {text}\nNow compute.\n#### 3")
    [flag] = lexical_flags([(1, rec)], dir_index)
    assert (flag.check, flag.benchmark, flag.item_id, flag.method) == (
        "contamination",
        "gsm8k",
        item_id,
        "containment",
    )
    assert flag.score >= 0.35 and flag.evidence["where"].startswith(("step", "message", "reference"))
    assert "ducks lay" in flag.evidence["span"]


def test_classic_rules_miss_what_containment_catches(bench_dir: Path, planted):
    """The comparison users know: the 13-gram rule catches verbatim copies but far fewer disguised ones."""
    idx13 = build_index(
        ValidateConfig(benchmark_dir=bench_dir, method="ngram13", benchmarks=["gsm8k", "math"], hub=False)
    )
    verb = _recall(idx13, [t for _, t in planted["verbatim"]])
    swapped = _recall(idx13, [t for _, t in planted["numbers_names_swapped"]])
    assert verb >= 0.9 and swapped < 0.8


@pytest.mark.slow
def test_paraphrases_with_semantic(shipped_index, clean_records):
    """GSM8K paraphrases written for the test (tests/data/paraphrases.jsonl) among 1,000 clean records
    (the other benchmarks: test_paraphrase_recall_per_benchmark)."""
    paras = [json.loads(x) for x in (DATA / "paraphrases.jsonl").read_text().splitlines() if x.strip()]
    paras = [p for p in paras if p["item_id"].startswith("gsm8k/")]
    assert len(paras) >= 30
    leaked = [(10_000 + i, synthetic_record(f"para{i}", p["text"], "#### 0")) for i, p in enumerate(paras)]
    records = leaked + clean_records
    cfg = ValidateConfig(hub=False, semantic=True)
    lex = lexical_flags(records, shipped_index)
    sem = semantic_flags(records, shipped_index, cfg, skip={f.record_id for f in lex})
    dropped = {f.record_id for f in lex + sem if f.check == "contamination"}
    want = {f"para{i}": p["item_id"] for i, p in enumerate(paras)}
    by_id = {f.record_id: f for f in lex + sem if f.check == "contamination"}
    recall = sum(1 for r in want if r in dropped) / len(want)
    correct_item = sum(1 for r in want if r in by_id and by_id[r].item_id.endswith(want[r].split("/", 1)[1]))
    fp = sum(1 for _, r in clean_records if r.id in dropped) / len(clean_records)
    lex_only = sum(1 for f in lex if f.record_id in want) / len(want)
    print(
        f"\nparaphrases: lexical {lex_only:.1%}, lexical+semantic {recall:.1%} ({correct_item} on the right item); "
        f"false positives {fp:.2%}"
    )
    assert recall >= 0.90
    assert correct_item >= 0.9 * len(want)
    assert fp <= FP_CEILING
    suspects = [f for f in sem if f.check == "suspect"]
    assert all(f.action == "kept" and "nearest_item" in f.evidence for f in suspects)


def test_regurgitated_gold_solution_is_flagged(dir_index, bench_dir: Path):
    """A teacher that reproduces a test item's gold solution in its steps is caught on the solution field."""
    row = json.loads((bench_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[2])
    rec = synthetic_record("regurgitated", "Solve the house-flipping problem.", row["answer"])
    [flag] = lexical_flags([(1, rec)], dir_index)
    assert (flag.item_id, flag.evidence["field"]) == ("gsm8k/test/2", "solution")
    assert flag.score >= 0.5


def test_worker_processes_give_the_same_flags(dir_index, clean_records, planted):
    """The 2-process lexical stage (used from 20,000 records on) agrees with the in-process one."""
    leaked = [
        (5000 + i, synthetic_record(f"leak{i}", t, "#### 1"))
        for i, (_, t) in enumerate(planted["verbatim"][:50])
    ]
    records = clean_records[:300] + leaked
    one = lexical_flags(records, dir_index, batch_size=100, workers=1)
    two = lexical_flags(records, dir_index, batch_size=100, workers=2)
    assert [(f.record_id, f.item_id, f.score) for f in one] == [
        (f.record_id, f.item_id, f.score) for f in two
    ]
    assert sum(f.record_id.startswith("leak") for f in two) == 50


def test_builtin_demo_is_not_contaminated(shipped_index):
    """The demo source must not leak benchmark items (reasoning-gym's gsm_symbolic re-draws GSM8K
    test templates; this is the check that caught it)."""
    from rft.problems import load_problems

    problems = load_problems("demo:200")
    records = [
        (i + 1, synthetic_record(p.id, p.question, f"#### {p.answer}")) for i, p in enumerate(problems)
    ]
    flagged = lexical_flags(records, shipped_index)
    assert not flagged, [(f.record_id, f.item_id, f.evidence) for f in flagged]


# --- comparable forms for the semantic stage (issue 8, item 13) ----------------------------------
HUMANEVAL_3 = '''from typing import List


def below_zero(operations: List[int]) -> bool:
    """ You're given a list of deposit and withdrawal operations on a bank account that starts with
    zero balance. Your task is to detect if at any point the balance of account fallls below zero, and
    at that point function should return True. Otherwise it should return False.
    >>> below_zero([1, 2, 3])
    False
    >>> below_zero([1, 2, -4, 5])
    True
    """
'''


def test_humaneval_prompt_is_embedded_as_its_docstring_prose():
    """A rephrased HumanEval task is prose: the benchmark side is also embedded as the docstring's
    prose, without the signature, the imports and the doctests."""
    from rft.validate.views import benchmark_views, record_views

    forms = dict(benchmark_views("humaneval", HUMANEVAL_3))
    assert forms["as_is"] == HUMANEVAL_3
    prose = forms["prose"]
    assert prose.startswith("You're given a list of deposit and withdrawal operations")
    assert prose.endswith("Otherwise it should return False.")
    assert not any(s in prose for s in ("def ", "List[int]", ">>>", "below_zero(", "import"))
    # a record that is itself a code prompt gets the same prose form
    assert record_views(HUMANEVAL_3.replace("below_zero", "dips_negative"))[1] == prose


def test_latex_is_also_embedded_read_out_in_words():
    from rft.validate.views import benchmark_views, latex_in_words, record_views

    assert latex_in_words(r"If $n \equiv 2 \pmod{7}$, then find the remainder") == (
        "If n is congruent to 2 modulo 7 , then find the remainder"
    )
    assert (
        latex_in_words(r"Compute $\frac{1}{\cos^2 10^\circ}$.")
        == "Compute 1 over cosine squared 10 degrees ."
    )
    assert "in base two" in latex_in_words(r"The binary number $10101001110_{2}$")
    forms = dict(benchmark_views("math", r"Compute $\arcsin \left( -\frac{1}{2} \right).$"))
    assert forms["words"] == "Compute inverse sine of ( - one half )."
    # GSM8K prices are not LaTeX; a record with LaTeX is read out too
    assert record_views("Each costs $5 and she buys 3.") == ["Each costs $5 and she buys 3."]
    assert len(record_views(r"Find $\sqrt{242}$.")) == 2
    assert dict(benchmark_views("mbpp", "Write a python function to reverse a string."))["task"] == (
        "reverse a string."
    )


def test_shipped_fingerprints_hold_every_comparable_form():
    prov = json.loads((fingerprints.DATA_DIR / fingerprints.PROVENANCE).read_text())
    forms = prov["embeddings"]["forms"]
    assert forms["prose"] == 164 and forms["as_is"] == 3655 and forms["task"] >= 490 and forms["words"] >= 400
    fps = fingerprints.load(["humaneval", "math"], embeddings=True)
    he = [e for e in fps.emb_entries if e.item_id == "HumanEval/3"]
    assert len(he) == 2 and len(fps.emb) == len(fps.emb_entries)


def test_fingerprints_build_requires_out(capsys, bench_dir: Path):
    """The builder never writes into the installed package by default: --out is required, and said so."""
    with pytest.raises(SystemExit) as exc:
        fingerprints.main(["build", "--from", str(bench_dir)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "the following arguments are required: --out" in err
    with pytest.raises(SystemExit):
        fingerprints.main(["build", "--help"])
    out = capsys.readouterr().out
    assert "folder to write fingerprints.npz and fingerprints.json to" in " ".join(out.split())


def test_fingerprints_build_shows_progress(capsys, bench_dir: Path, tmp_path: Path):
    code = fingerprints.main(["build", "--from", str(bench_dir), "--out", str(tmp_path), "--no-embeddings"])
    assert code == 0
    out = capsys.readouterr().out
    assert "hashed" in out and "5/5" in out  # the progress bar's last state: 5 of 5 benchmarks
    assert f"wrote {tmp_path / fingerprints.NPZ}" in " ".join(out.split())
    assert (tmp_path / fingerprints.NPZ).is_file() and (tmp_path / fingerprints.PROVENANCE).is_file()
    with pytest.raises(SystemExit) as exc:
        fingerprints.main(["build", "--from", str(tmp_path / "nowhere"), "--out", str(tmp_path)])
    assert exc.value.code == 2 and "--from: " in capsys.readouterr().err


def _paraphrases() -> list[dict]:
    out = []
    for d in map(json.loads, (DATA / "paraphrases.jsonl").read_text().splitlines()):
        prefix = d["item_id"].split("/", 1)[0]
        d["benchmark"] = {"math500": "math", "HumanEval": "humaneval"}.get(prefix, prefix)
        out.append(d)
    return out


def _close_negatives(bench_dir: Path) -> list[str]:
    """Clean problems close to the benchmarks' topics: GSM8K train and the hand-written
    close-but-different ones (MATH-, HumanEval/MBPP- and ARC-like). benchmarks/decontam.py adds
    reasoning-gym problems and MBPP outside its test split (with its cross-split duplicates)."""
    gsm = [json.loads(x)["question"] for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()]
    hand = [json.loads(x)["text"] for x in (DATA / "decontam_negatives.jsonl").read_text().splitlines()]
    return gsm[:200] + hand


def test_paraphrase_set_covers_every_benchmark_without_shared_7_grams(bench_dir: Path):
    """The hand-written paraphrases: each benchmark covered, no 7-word run shared with the item."""
    from rft.validate.benchmarks import load_dir

    paras = _paraphrases()
    counts = {
        b: sum(p["benchmark"] == b for p in paras) for b in ("gsm8k", "math", "humaneval", "mbpp", "arc")
    }
    assert counts["math"] >= 35 and counts["humaneval"] >= 15 and counts["mbpp"] >= 10 and counts["arc"] >= 10
    items = {it.item_id: it.fields["question"] for b in counts for it in load_dir(b, bench_dir).items}
    for p in paras:
        words = [w for w in p["text"].lower().split()]
        item = " ".join(items[p["item_id"]].lower().split())
        runs = [" ".join(words[i : i + 7]) for i in range(len(words) - 6)]
        assert not [r for r in runs if r in item], p["item_id"]


# Paraphrase recall per benchmark, lexical + --semantic at the defaults, shipped fingerprints, as measured
# by benchmarks/decontam.py (34/35, 24/41, 7/26, 6/13, 8/12); the code before the comparable forms
# caught 34/35, 21/41, 0/26, 2/13 and 8/12 of the same set. The rest is for the judge band.
EMBEDDING_RECALL_FLOORS = {"gsm8k": 0.95, "math": 0.55, "humaneval": 0.25, "mbpp": 0.45, "arc": 0.65}
BAND_RECALL_FLOOR = 0.90  # the item is among what the judge band asks about


@pytest.fixture(scope="module")
def paraphrase_run(shipped_index, bench_dir: Path):
    """The paraphrases and the close clean negatives through lexical + semantic, shipped fingerprints."""
    from rft.validate.embeddings import embed
    from rft.validate.nearest import nearest_items
    from rft.validate.semantic import _semantic_bench
    from rft.validate.views import record_views

    paras = _paraphrases()
    negs = _close_negatives(bench_dir)
    records = [(i + 1, synthetic_record(f"para{i}", p["text"], "#### 0")) for i, p in enumerate(paras)]
    records += [(5000 + i, synthetic_record(f"neg{i}", t, "#### 0")) for i, t in enumerate(negs)]
    cfg = ValidateConfig(hub=False, semantic=True)
    lex = lexical_flags(records, shipped_index)
    sem = semantic_flags(records, shipped_index, cfg, skip={f.record_id for f in lex})
    dropped = {f.record_id: f.item_id for f in lex + sem if f.check == "contamination"}
    # what a judge band would be asked: each paraphrase's nearest items in [judge floor, threshold)
    entries, bench, owner = _semantic_bench(shipped_index)
    texts, rec_of = [], []
    for j, p in enumerate(paras):
        for t in record_views(p["text"]):
            texts.append(t)
            rec_of.append(j)
    near = nearest_items(bench, owner, embed(texts), np.array(rec_of), len(paras), floor=cfg.judge_floor)
    from rft.validate.semantic import JUDGE_PER_RECORD

    asked = [{entries[it].item_id for it, _ in cands[:JUDGE_PER_RECORD]} for cands in near]
    return paras, negs, dropped, asked


def _same_item(flagged: str, want: str) -> bool:
    return flagged == want


@pytest.mark.slow
def test_paraphrase_recall_per_benchmark(paraphrase_run):
    """Hand-written paraphrases of GSM8K, MATH-500, HumanEval, MBPP and ARC items among clean, topically
    close problems: recall per benchmark at the default settings, false positives <= 1%."""
    paras, negs, dropped, _ = paraphrase_run
    for b, floor in EMBEDDING_RECALL_FLOORS.items():
        mine = [(f"para{i}", p) for i, p in enumerate(paras) if p["benchmark"] == b]
        hit = [r for r, p in mine if r in dropped and _same_item(dropped[r], p["item_id"])]
        print(f"{b}: {len(hit)}/{len(mine)}")
        assert len(hit) / len(mine) >= floor, (b, len(hit), len(mine))
    fps = [(negs[int(r[3:])][:60], it) for r, it in dropped.items() if r.startswith("neg")]
    assert len(fps) / len(negs) <= 0.01, fps


@pytest.mark.slow
def test_judge_band_asks_about_the_right_item(paraphrase_run):
    """With --judge, every benchmark's paraphrases are either flagged outright or their item is among
    the nearest ones handed to the judge: a judge that answers right reaches >= 90% per benchmark."""
    paras, _, dropped, asked = paraphrase_run
    for b in EMBEDDING_RECALL_FLOORS:
        mine = [(i, p) for i, p in enumerate(paras) if p["benchmark"] == b]
        reach = [
            i for i, p in mine if f"para{i}" in dropped or any(_same_item(x, p["item_id"]) for x in asked[i])
        ]
        assert len(reach) / len(mine) >= BAND_RECALL_FLOOR, (b, len(reach), len(mine))


def test_judge_is_asked_about_a_records_nearest_items_nearest_first(bench_dir: Path):
    """The judged band: each record's nearest items in [judge floor, threshold) go to the judge,
    nearest first, until it says YES (at most JUDGE_PER_RECORD); its answers decide and are counted."""
    from rft.validate.semantic import JUDGE_PER_RECORD

    paras = [p for p in _paraphrases() if p["benchmark"] == "humaneval"]
    cfg = ValidateConfig(
        benchmark_dir=bench_dir, benchmarks=["humaneval"], hub=False, semantic=True, judge="x:y"
    )
    index = build_index(cfg)
    prompt = {e.item_id: t for e, t in index.texts.items() if e.field == "question"}
    truth = {p["text"]: prompt[p["item_id"]] for p in paras}
    calls: list[list[tuple[str, str]]] = []

    def judge(pairs):
        calls.append(pairs)
        return [truth.get(a) == b for a, b in pairs]

    close = "Return the strings of a list that end with a given suffix."
    records = [(i + 1, synthetic_record(f"para{i}", p["text"], "#### 0")) for i, p in enumerate(paras)]
    records.append((99, synthetic_record("close", close, "#### 0")))
    stats: dict = {}
    flags = semantic_flags(records, index, cfg, skip=set(), judge_stats=stats, judge=judge)
    by_id = {f.record_id: f for f in flags}
    judged = [f for f in flags if f.method == "semantic+judge(x:y)"]
    assert judged and all(f.action == "dropped" and f.evidence["judge"] == "same problem" for f in judged)
    found = [
        i for i, p in enumerate(paras) if f"para{i}" in by_id and by_id[f"para{i}"].check == "contamination"
    ]
    assert all(by_id[f"para{i}"].item_id == paras[i]["item_id"] for i in found)
    assert len(found) / len(paras) >= 0.9
    assert "close" not in by_id  # the judge said NO to each of its nearest items
    assert 1 < len(calls) <= JUDGE_PER_RECORD  # later rounds ask only the records still undecided
    assert stats["asked"] == sum(map(len, calls)) == stats["same"] + stats["different"] + stats["unclear"]
    assert stats["same"] == len(judged) and stats["band"] == [cfg.judge_floor, cfg.semantic_threshold]


# --- weak lexical evidence and the calibrated judge band (issue 8, item 13) ----------------------
TWIN = "Write a function that matches a word containing 'z', not at the start or end of the word."
ITEM_454 = "Write a function that matches a word containing 'z'."


def test_boilerplate_ngrams_do_not_count_towards_a_hit(dir_index):
    """N-grams frequent across the benchmark index ("write a function to find the") are not indexed
    at all: a template twin's hit counts only the informative n-grams it shares."""
    lex = dir_index.lexical
    boiler = entry_grams(Entry("x", "x", "question"), "Write a function to find the", lex.method).grams
    assert len(boiler) and not np.isin(boiler, lex.keys).any()
    twin = "Write a function to find the largest integers from a given list of numbers using heap queue algorithm."
    [hit, *_] = lex.score([[twin]])[0]
    all_grams = len(lex.entry_grams[hit.entry])
    assert lex.entries[hit.entry].item_id != "mbpp/4"  # the twin itself is not a test item
    assert hit.shared < all_grams  # the boilerplate n-grams it shares are not counted
    assert hit.shared < lex.weak_min and lex.is_weak(hit, [twin])


def test_template_twin_is_weak_but_a_verbatim_copy_is_not(dir_index, bench_dir: Path):
    """A short item contained in a longer text (its one-word twin) rests on too few informative n-grams:
    weak, and said so; the item itself as a segment, and a long item with its numbers swapped, are
    strong. Without a judge all three are dropped."""
    gsm = json.loads((bench_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[0])["question"]
    recs = [
        (1, synthetic_record("twin", TWIN, "#### 0")),
        (2, synthetic_record("copy", ITEM_454, "#### 0")),
        (3, synthetic_record("long", gsm.replace("16", "23").replace("3", "5"), "#### 0")),
    ]
    flags = {f.record_id: f for f in lexical_flags(recs, dir_index)}
    assert set(flags) == {"twin", "copy", "long"}
    assert all(f.check == "contamination" and f.action == "dropped" for f in flags.values())
    assert flags["twin"].item_id == flags["copy"].item_id == "mbpp/454"
    assert "weak" in flags["twin"].evidence and "informative n-grams" in flags["twin"].evidence["weak"]
    assert "weak" not in flags["copy"].evidence and "weak" not in flags["long"].evidence
    assert flags["long"].evidence["shared_ngrams"] >= dir_index.lexical.weak_min
    # without a judge nothing is handed on; with one only the weak hit is
    assert split_weak(list(flags.values()), dir_index, ValidateConfig(hub=False))[1] == {}


def test_weak_hits_and_template_level_cosines_go_to_the_judge(bench_dir: Path):
    """With a judge: a weak lexical hit is asked about (its item first) and a NO keeps the record as a
    `suspect` row; a cosine at the level MBPP's own distinct items reach to each other (one-word
    twins) is judged instead of dropped; a verbatim long copy is dropped without asking. The band
    ceilings come from the index (item-to-nearest-other-item cosines): MBPP's is high, GSM8K's stays at
    the threshold."""
    gsm = json.loads((bench_dir / "gsm8k" / "test.jsonl").read_text().splitlines()[0])["question"]
    split_twin = "Write a function to split a string at uppercase letters."  # mbpp/15: "... lowercase ..."
    recs = [
        (1, synthetic_record("twin", TWIN, "#### 0")),
        (2, synthetic_record("long", gsm, "#### 0")),
        (3, synthetic_record("split", split_twin, "#### 0")),
    ]
    asked: list[tuple[str, str]] = []

    def judge(pairs):
        asked.extend(pairs)
        return [False for _ in pairs]

    base = dict(benchmark_dir=bench_dir, benchmarks=["gsm8k", "mbpp"], hub=False, semantic=True)
    cfg = ValidateConfig(**base, judge="x:y")
    index = build_index(cfg)
    lex, weak = split_weak(lexical_flags(recs, index), index, cfg)
    assert [f.record_id for f in lex] == ["long"] and set(weak) == {"twin"}
    stats: dict = {}
    sem = semantic_flags(
        recs, index, cfg, skip={f.record_id for f in lex}, judge_stats=stats, weak=weak, judge=judge
    )
    by_id = {f.record_id: f for f in sem}
    assert by_id["twin"].check == "suspect" and by_id["twin"].action == "kept"
    assert (
        by_id["twin"].method == "containment+judge(x:y)"
        and by_id["twin"].evidence["judge"] == "different problem"
    )
    assert "split" not in by_id  # judged: different problems
    assert (TWIN, ITEM_454) == asked[[a for a, _ in asked].index(TWIN)]  # its lexical item first
    assert not any(a == gsm for a, _ in asked)
    assert stats["weak_lexical"] == 1
    assert stats["band_ceilings"]["mbpp"] > 0.95 and stats["band_ceilings"]["gsm8k"] == cfg.semantic_threshold

    # no clear answer: dropped, as without a judge (a lexical match, a cosine above the threshold)
    def unclear(pairs):
        return [None for _ in pairs]

    sem = semantic_flags(recs, index, cfg, skip={f.record_id for f in lex}, weak=weak, judge=unclear)
    by_id = {f.record_id: f for f in sem}
    assert by_id["twin"].action == by_id["split"].action == "dropped"
    assert by_id["twin"].evidence["judge"].startswith("no clear") and by_id["split"].method == "semantic"
    # without a judge: the weak hit and the twin's cosine are dropped, as before
    cfg0 = ValidateConfig(**base)
    lex0, weak0 = split_weak(lexical_flags(recs, index), index, cfg0)
    sem0 = semantic_flags(recs, index, cfg0, skip={f.record_id for f in lex0}, weak=weak0)
    dropped = {f.record_id for f in lex0 + sem0 if f.action == "dropped"}
    assert dropped == {"twin", "long", "split"}


def test_a_reworded_code_test_problem_is_caught_by_its_tests(dir_index, bench_dir: Path):
    """A training problem taken from MBPP's test split keeps its asserts when its question is reworded
    (and it has no reference solution): the record's tests are compared with the benchmark's."""
    from rft.problems import load_benchmark
    from rft.schemas import Domain, Problem

    item = load_benchmark("mbpp", benchmark_dir=bench_dir)[0]
    reworded = Problem(
        id="train-1",
        question="Implement the function these tests describe.",
        domain=Domain.code,
        tests=item.tests,
        entry_point=item.entry_point,
    )
    rec = synthetic_record("train-1", reworded.question, "Step one.\nStep two.")
    rec.problem = reworded
    [flag] = lexical_flags([(1, rec)], dir_index)
    assert (flag.benchmark, flag.item_id, flag.evidence["where"]) == ("mbpp", "mbpp/11", "tests")
