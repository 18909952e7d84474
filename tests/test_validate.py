"""`rft validate`: record checks, dedup, and the command end to end on a real store (offline)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record

from rft.schemas import NodeStatus, Verdict
from rft.store import Store
from rft.validate.checks import check_answer_verdict, check_steps, is_degenerate
from rft.validate.dedup import find_duplicates
from rft.validate.families import synthetic_record

GSM8K_TEST_0 = (
    "Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her "
    "friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck "
    "egg. How much in dollars does she make every day at the farmers' market?"
)


# --- checks --------------------------------------------------------------------------------------
def test_answer_mismatch_is_flagged():
    ok = make_record("ok")
    assert check_answer_verdict(ok) is None
    wrong = make_record("wrong")
    wrong.outcome.final_answer = "41"  # stored as correct, but 41 != gold 31
    flag = check_answer_verdict(wrong)
    assert flag and flag.check == "answer_mismatch"
    assert flag.evidence["recheck"] == "incorrect" and flag.evidence["stored"] == "outcome.correct=True"


def test_stored_incorrect_that_is_correct_is_flagged():
    rec = make_record("r")
    rec.outcome.correct = False
    assert check_answer_verdict(rec).evidence["recheck"] == "correct"


def test_truncated_empty_and_degenerate_steps():
    rec = make_record("t")
    nodes = {n.id: n for n in rec.trace.nodes}
    nodes["n1"].truncated = True
    nodes["n4"].text = "So the total is 31. " * 12
    checks = {f.check: f for f in check_steps(rec)}
    assert checks["truncated"].evidence["node"] == "n1"
    assert checks["degenerate"].evidence["node"] == "n4"
    nodes["n4"].text = "   "
    assert "empty_step" in {f.check for f in check_steps(rec)}
    # a rejected sibling that was never followed is not part of the trained path
    clean = make_record("c")
    [n2] = [n for n in clean.trace.nodes if n.id == "n2"]
    assert n2.status == NodeStatus.rejected
    n2.truncated = True
    assert check_steps(clean) == []


def test_is_degenerate():
    assert is_degenerate("Let me think. " * 10)
    assert is_degenerate("\n".join(["Step: add the numbers again"] * 5))
    assert is_degenerate("Tom starts with 3 boxes of 12 pencils, so 3 * 12 = 36 pencils.") is None


def test_duplicates_exact_and_near():
    qs = [
        "Tom has 3 boxes with 12 pencils each. He gives away 5 pencils. How many pencils are left?",
        "tom has 3 boxes with 12 pencils each.  He gives away 5 pencils! How many pencils are left?",
        "Tom has 3 boxes with 12 pencils each. He gives away 5 of the pencils. How many pencils are left?",
        "A train leaves at noon and travels 60 miles per hour for 3 hours. How far does it go?",
    ]
    flags = find_duplicates(["a", "b", "c", "d"], qs, threshold=0.7)
    by_id = {f.record_id: f for f in flags}
    assert set(by_id) == {"b", "c"}
    assert by_id["b"].check == "duplicate" and by_id["b"].evidence["duplicate_of"] == "a"
    assert by_id["c"].check == "near_duplicate" and by_id["c"].evidence["duplicate_of"] == "a"
    assert 0.7 <= by_id["c"].score < 1.0


# --- the command ---------------------------------------------------------------------------------
@pytest.fixture
def store(tmp_path: Path, bench_dir: Path) -> Store:
    """demo@v1: 6 good records (GSM8K train), a GSM8K test item leaked into a step, a duplicate, a
    wrong verdict, a degenerate step, and one line that breaks the schema."""
    s = Store(tmp_path / "datasets_out")
    rows = [json.loads(x) for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()[:6]]
    records = [synthetic_record(f"p{i}", r["question"], r["answer"]) for i, r in enumerate(rows)]
    leak = synthetic_record(
        "leak", "Solve the next one.", f"Known problem: {GSM8K_TEST_0}\n16 - 3 - 4 = 9\n#### 18"
    )
    dup = make_record("dup", question=records[0].problem.question)
    wrong = make_record("wrong")
    wrong.outcome.final_answer = "41"
    loop = make_record(
        "loop",
        question="A farmer has 7 rows of 9 apple trees and sells the apples of 2 rows. How many rows are left?",
    )
    [n4] = [n for n in loop.trace.nodes if n.id == "n4"]
    n4.text = "I will add them up. " * 15
    s.seal("demo", [*records, leak, dup, wrong, loop], manifest={"teacher": "local:smollm2-135m"})
    # a record whose tree is broken, written the way an old or foreign tool might have
    v1 = s.dataset_dir("demo") / "v1"
    bad = json.loads(records[1].model_dump_json())
    bad["problem"]["id"] = "broken"
    bad["trace"]["nodes"][1]["parent"] = "nope"
    data = v1 / "data.jsonl"
    data.chmod(0o644)
    data.write_text(data.read_text() + json.dumps(bad) + "\n")
    manifest = json.loads((v1 / "manifest.json").read_text())
    import hashlib

    manifest["files"]["data.jsonl"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    manifest["files"]["data.jsonl"]["bytes"] = data.stat().st_size
    manifest.pop("manifest_sha256")  # a foreign tool's manifest carries no checksum of itself
    (v1 / "manifest.json").chmod(0o644)
    (v1 / "manifest.json").write_text(json.dumps(manifest))
    return s


def test_validate_seals_a_new_version_offline(capsys, store: Store):
    code, out, err = rft(capsys, "validate", "demo", "--out", str(store.root))
    assert code == 0, err
    v2 = store.dataset_dir("demo") / "v2"
    assert f"wrote demo@v2 (6 of 11 records kept) to {v2}" in " ".join(out.split())
    assert "shipped" in out  # the table names the benchmark source
    loaded = store.load_version("demo", 2)
    assert sorted(r.id for r in loaded.records) == [f"p{i}" for i in range(6)]
    m = loaded.manifest
    assert m.stage == "validate" and m.parent == 1
    assert m.validation["dropped"] == 5 and m.validation["benchmark_sources"]["gsm8k"] == "fingerprints"
    report = json.loads((v2 / "validation_report.json").read_text())
    rows = {r["record_id"]: r for r in report["rows"]}
    assert rows["broken"]["check"] == "schema" and rows["broken"]["line"] == 11
    assert rows["dup"]["check"] == "duplicate" and rows["dup"]["evidence"]["duplicate_of"] == "p0"
    assert rows["wrong"]["check"] == "answer_mismatch"
    assert rows["loop"]["check"] == "degenerate"
    leak = rows["leak"]
    assert (leak["check"], leak["benchmark"], leak["item_id"], leak["method"]) == (
        "contamination",
        "gsm8k",
        "gsm8k/test/0",
        "containment",
    )
    assert leak["score"] >= 0.9 and "ducks lay" in leak["evidence"]["span"]
    assert report["benchmark_sources"]["gsm8k"]["kind"] == "fingerprints"
    assert report["benchmark_sources"]["gsm8k"]["items"] == 1319


def test_report_only_writes_no_version(capsys, store: Store):
    code, out, err = rft(
        capsys, "validate", "demo@v1", "--report-only", "--benchmarks", "gsm8k", "--out", str(store.root)
    )
    assert code == 0, err
    assert store.versions("demo") == [1]
    [path] = (store.dataset_dir("demo") / "reports").glob("v1-validate-*.json")
    assert f"report only (no new version): {path}" in " ".join(out.split())
    report = json.loads(path.read_text())
    assert report["summary"]["dropped"] == 5 and list(report["benchmark_sources"]) == ["gsm8k"]


def test_validate_with_benchmark_dir_and_classic_method(capsys, store: Store, bench_dir: Path):
    code, out, err = rft(
        capsys,
        "validate",
        "demo",
        "--benchmarks",
        "gsm8k,math",
        "--benchmark-dir",
        str(bench_dir),
        "--method",
        "ngram13",
        "--out",
        str(store.root),
    )
    assert code == 0, err
    report = json.loads((store.dataset_dir("demo") / "v2" / "validation_report.json").read_text())
    leak = next(r for r in report["rows"] if r["record_id"] == "leak")
    assert leak["method"] == "ngram13" and leak["item_id"] == "gsm8k/test/0"
    assert report["benchmark_sources"]["gsm8k"] == {"kind": "dir", "location": str(bench_dir), "items": 1319}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--benchmarks", "gsm8k,squad"], "--benchmarks: unknown benchmark 'squad'"),
        (["--method", "bleu"], "--method: unknown method 'bleu'"),
        (["--benchmark-path", "gsm8k=/nonexistent/test.jsonl"], "--benchmark-path gsm8k: file not found"),
        (["--threshold", "1.5"], "--threshold must be in (0, 1]"),
        (["--judge", "openai:gpt-4o-mini"], "--judge needs --semantic"),
        (["--method", "ngram8"], "--method ngram8 needs benchmark text"),
        (
            ["--judge-base-url", "http://127.0.0.1:9/v1"],
            "--judge-base-url and --judge-api-key-env need --judge",
        ),
        (["--semantic", "--judge", "vibes:model"], "unknown provider 'vibes'"),
        (["--semantic", "--judge", "openai:m", "--judge-api-key-env", "RFT_NO_SUCH_KEY"], "RFT_NO_SUCH_KEY"),
    ],
)
def test_bad_input_is_one_line_and_nothing_written(capsys, store: Store, args, message):
    code, out, err = rft(capsys, "validate", "demo", "--out", str(store.root), *args)
    assert code == 2
    assert err.strip().startswith("error:") and message in " ".join(err.split()) and "Traceback" not in err
    assert store.versions("demo") == [1] and not (store.dataset_dir("demo") / "reports").exists()


def test_unreadable_benchmark_file(capsys, store: Store, tmp_path: Path):
    bad = tmp_path / "math.jsonl"
    bad.write_text('{"problem": "x"}\n')
    code, _, err = rft(
        capsys, "validate", "demo", "--benchmark-path", f"math={bad}", "--out", str(store.root)
    )
    assert code == 2 and f"{bad}:1: no answer" in " ".join(err.split())
    assert store.versions("demo") == [1]


def test_checksum_failure_writes_nothing(capsys, store: Store):
    data = store.dataset_dir("demo") / "v1" / "data.jsonl"
    data.write_text(data.read_text().replace('"31"', '"30"', 1))
    code, _, err = rft(capsys, "validate", "demo", "--out", str(store.root))
    assert code == 2 and "sha256 mismatch" in err
    assert store.versions("demo") == [1]


def test_unknown_dataset(capsys, store: Store):
    code, _, err = rft(capsys, "validate", "nope", "--out", str(store.root))
    assert code == 2 and "no dataset 'nope'" in err


def test_verdict_disagreeing_on_solution_node_is_flagged():
    rec = make_record("r")
    rec.outcome.correct = None
    sol = rec.trace.solution()
    sol.verdict = Verdict.incorrect
    flag = check_answer_verdict(rec)
    assert flag and flag.evidence["stored"].startswith("node n4 verdict")


def test_llm_judge_decides_the_ambiguous_band(capsys, tmp_path: Path, bench_dir: Path, openai_server):
    """`--semantic --judge`: pairs in the ambiguous band go to a real judge (SmolLM2 behind
    `transformers serve`, reached with --judge-base-url); every answer is accounted for in the report."""
    paras = [
        json.loads(x) for x in (Path(__file__).parent / "data" / "paraphrases.jsonl").read_text().splitlines()
    ]
    paras = [p for p in paras if p["item_id"].startswith("gsm8k/")][:4]
    records = [make_record(f"para{i}", question=p["text"]) for i, p in enumerate(paras)]
    records.append(make_record("clean", question="Name three prime numbers larger than 50 and add them."))
    store = Store(tmp_path / "out")
    store.seal("leaky", records, manifest={"teacher": "openai:test"})
    code, out, err = rft(
        capsys, "validate", "leaky", "--out", str(store.root), "--benchmark-dir", str(bench_dir),
        "--benchmarks", "gsm8k", "--semantic", "--semantic-threshold", "0.99", "--suspect-threshold", "0.5",
        "--judge", openai_server.spec, "--judge-base-url", openai_server.base_url, "--report-only",
    )  # fmt: skip
    assert code == 0, err
    [report_path] = (store.dataset_dir("leaky") / "reports").glob("*.json")
    report = json.loads(report_path.read_text())
    judge = report["summary"]["judge"]
    assert judge["spec"] == openai_server.spec and judge["asked"] >= len(paras)
    assert judge["same"] + judge["different"] + judge["unclear"] == judge["asked"]
    rows = [r for r in report["rows"] if r["check"] in ("contamination", "suspect")]
    by_judge = [r for r in rows if r["method"].startswith("semantic+judge(")]
    unclear = [r for r in rows if r["evidence"].get("judge") == "no clear YES/NO"]
    # a record's nearest items are asked in turn until a YES: one row per record, unclear ones kept
    assert len(by_judge) == judge["same"] and len(unclear) <= judge["unclear"]
    assert judge["records_asked"] <= judge["asked"] <= 3 * judge["records_asked"]
    assert all(r["action"] == "dropped" and r["evidence"]["judge"] == "same problem" for r in by_judge)
    assert f"judge {openai_server.spec}: asked about {judge['asked']} ambiguous pairs" in " ".join(
        out.split()
    )
    assert report["config"]["judge_base_url"] == openai_server.base_url
