"""The versioned dataset store: runs, atomic sealing, checksums, read-only versions, merge, export."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from factories import make_record, make_records

from rft.errors import ChecksumError, ConfigError, InputError, NotFoundError, SealedVersionError
from rft.schemas import Record
from rft.store import Store, parse_ref

TESTS = Path(__file__).resolve().parent
SECRET = "sk-thisisaverysecretkey1234567890"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "datasets_out")


def seal_n(store: Store, name: str, n: int, prefix: str = "p", **manifest) -> object:
    return store.seal(
        name, make_records(n, prefix=prefix), manifest={"teacher": "local:smollm2-135m", **manifest}
    )


# --- refs ---
def test_parse_ref():
    assert parse_ref("demo@v3") == ("demo", 3)
    assert parse_ref("demo@3") == ("demo", 3)
    assert parse_ref("gsm8k-teacher.x_1") == ("gsm8k-teacher.x_1", None)
    for bad in ("demo@v0", "demo@vx", "demo@", "@v1", "../x", "a/b", "runs", "v2", ".hidden"):
        with pytest.raises(ConfigError):
            parse_ref(bad)


# --- runs ---
def test_run_append_records_dedup_and_resume(store: Store):
    run = store.open_run("demo", meta={"teacher": "local:smollm2-135m", "api_key": SECRET})
    assert run.path == store.root / "demo" / "runs" / run.id
    assert run.cache_path == run.path / "cache.sqlite"
    first = make_record("p1")
    run.append_record(first)
    run.append_event("progress", {"done": 1})
    run.append_record(make_record("p2", with_backtrack=False))
    run.append_record(make_record("p1", with_backtrack=False))  # a retry of p1: first one wins
    assert [r.id for r in run.records()] == ["p1", "p2"]
    assert run.records()[0] == first
    assert run.done_ids() == {"p1", "p2"}
    lines = [json.loads(x) for x in run.events_path.read_text().splitlines()]
    assert [x["type"] for x in lines] == ["record", "progress", "record", "record"]
    assert lines[1]["done"] == 1 and "at" in lines[1]
    # meta is stored without secrets, and a reopened run (resume) keeps it
    assert run.meta["teacher"] == "local:smollm2-135m"
    assert SECRET not in (run.path / "run.json").read_text()
    again = store.open_run("demo", run.id, meta={"other": 1})
    assert again.meta == run.meta and again.done_ids() == {"p1", "p2"}
    found = store.find_run(run.id)
    assert found.name == "demo" and found.path == run.path
    with pytest.raises(NotFoundError, match="no run 'nope'"):
        store.find_run("nope")


def test_torn_last_line_is_ignored_then_cut_before_next_append(store: Store):
    run = store.open_run("demo", "r1")
    run.append_record(make_record("p1"))
    good = run.events_path.read_bytes()
    with open(run.events_path, "ab") as fh:  # what a process killed mid-write leaves behind
        fh.write(make_record("p2").model_dump_json().encode()[:57])
    assert [r.id for r in run.records()] == ["p1"]
    resumed = store.open_run("demo", "r1")
    resumed.append_record(make_record("p3"))
    assert [r.id for r in resumed.records()] == ["p1", "p3"]
    assert resumed.events_path.read_bytes().startswith(good)


def test_broken_line_in_the_middle_names_file_and_line(store: Store):
    run = store.open_run("demo", "r1")
    run.append_record(make_record("p1"))
    with open(run.events_path, "a") as fh:
        fh.write("{not json\n")
    run.append_record(make_record("p2"))
    with pytest.raises(InputError, match=r"events.jsonl:2: malformed JSON"):
        run.records()


# --- sealing ---
def test_seal_layout_manifest_card_and_read_only(store: Store):
    run = store.open_run("demo")
    records = make_records(5)
    for r in records:
        run.append_record(r)
    sealed = store.seal(
        "demo",
        run.records(),
        manifest={
            "teacher": "openai:gpt-4o-mini",
            "validator": "judge:openai:gpt-4o-mini",
            "config": {"api_key": SECRET, "n": 3, "max_tokens": 256},
            "command": ["rft", "generate", "--api-key", SECRET, "--max-tokens", "256"],
            "source_fingerprint": "sha256:abc",
            "name": "ignored",
            "version": 99,
        },
        extra_files={"stats.json": json.dumps({"k": 1}), "rejects.jsonl": b'{"a":1}\n{"a":2}\n'},
        run=run,
    )
    d = store.root / "demo"
    assert sealed.ref == "demo@v1" and sealed.path == d / "v1"
    assert (d / "LATEST").read_text().strip() == "v1"
    assert sorted(p.name for p in sealed.path.iterdir()) == [
        "README.md",
        "data.jsonl",
        "manifest.json",
        "rejects.jsonl",
        "stats.json",
    ]
    m = json.loads((sealed.path / "manifest.json").read_text())
    assert (m["name"], m["version"], m["parent"], m["stage"]) == ("demo", 1, None, "generate")
    assert m["rft_version"] and m["created_at"].endswith("Z")
    assert m["git_commit"] is None or len(m["git_commit"].split("+")[0]) == 40
    assert m["counts"]["records"] == 5 and m["counts"]["backtracks"] == 4
    assert m["tokens_in"] == sum(r.outcome.tokens_in for r in records)
    assert m["files"]["data.jsonl"]["rows"] == 5 and m["files"]["rejects.jsonl"]["rows"] == 2
    assert set(m["files"]) == {"data.jsonl", "README.md", "stats.json", "rejects.jsonl"}
    assert m["config"]["max_tokens"] == 256 and m["config"]["api_key"] == "<redacted>"
    assert m["command"][3] == "<redacted>" and m["command"][5] == "256"
    # no secret anywhere in the version or the run
    for p in [*sealed.path.iterdir(), *run.path.iterdir()]:
        assert SECRET not in p.read_text()
    for p in sealed.path.iterdir():
        assert not p.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH), p
    card = (sealed.path / "README.md").read_text()
    header = yaml.safe_load(card.split("---\n")[1])
    assert header["configs"][0]["data_files"][0]["path"] == "data.jsonl"
    assert "# demo (v1)" in card and "openai:gpt-4o-mini" in card
    # the run knows it was sealed and refuses more records
    assert run.sealed_as == "demo@v1"
    assert run.lines()[-1]["type"] == "sealed"
    with pytest.raises(SealedVersionError, match="already sealed into demo@v1"):
        run.append_record(make_record("p9"))
    # load: same records, same order
    lv = store.load_version("demo")
    assert lv.version == 1 and lv.records == records and lv.manifest.teacher == "openai:gpt-4o-mini"


def test_versions_latest_and_custom_card(store: Store):
    seal_n(store, "demo", 3)
    v2 = store.seal(
        "demo", make_records(2, prefix="q"), manifest={"stage": "validate", "parent": 1}, card="# mine\n"
    )
    assert v2.version == 2 and v2.manifest.parent == 1
    assert (v2.path / "README.md").read_text() == "# mine\n"
    assert store.load_version("demo").version == 2
    assert [r.id for r in store.load_version("demo", 1).records] == ["p0", "p1", "p2"]
    assert store.list_datasets() == [("demo", [1, 2], 2)]
    with pytest.raises(NotFoundError, match=r"has no v7 \(versions: v1, v2\)"):
        store.load_version("demo", 7)
    with pytest.raises(NotFoundError, match="no dataset 'other'"):
        store.load_version("other")


def test_seal_refuses_duplicate_ids_and_writes_nothing(store: Store):
    recs = [make_record("p1"), make_record("p2"), make_record("p1", with_backtrack=False)]
    with pytest.raises(InputError, match="'p1' appears twice"):
        store.seal("demo", recs, manifest={})
    assert store.list_datasets() == []
    assert not list((store.root / "demo").glob("v*")) if (store.root / "demo").exists() else True


def test_concurrent_seals_get_distinct_versions(store: Store):
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            seal_n(store, "demo", 2, prefix=f"t{i}-")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.versions("demo") == [1, 2, 3, 4] and store.latest("demo") == 4
    for v in range(1, 5):
        store.load_version("demo", v)


# --- integrity ---
@pytest.mark.parametrize("fname", ["data.jsonl", "README.md"])
def test_tampered_file_detected_on_load(store: Store, fname: str):
    sealed = seal_n(store, "demo", 3)
    p = sealed.path / fname
    p.chmod(0o644)
    p.write_bytes(p.read_bytes().replace(b"31", b"32", 1))
    with pytest.raises(ChecksumError, match=rf"{fname}: sha256 mismatch"):
        store.load_version("demo")
    assert len(store.load_version("demo", verify=False).records) == 3


def test_missing_file_detected(store: Store):
    sealed = seal_n(store, "demo", 1)
    (sealed.path / "data.jsonl").unlink()
    with pytest.raises(ChecksumError, match="data.jsonl: missing"):
        store.load_version("demo", 1)


def test_writing_into_sealed_version_is_refused(store: Store, tmp_path: Path):
    sealed = seal_n(store, "demo", 1)
    with pytest.raises(SealedVersionError, match=r"sealed version demo@v1"):
        store.guard_writable(sealed.path / "data.jsonl")
    with pytest.raises(SealedVersionError):
        store.guard_writable(sealed.path / "sub" / "new.txt")
    store.guard_writable(sealed.path.parent / "runs" / "x")  # beside it is fine
    inner = Store(sealed.path)  # a store rooted inside a sealed version cannot write anything
    with pytest.raises(SealedVersionError):
        inner.open_run("other")
    with pytest.raises(SealedVersionError):
        inner.seal("other", make_records(1), manifest={})
    lv = store.load_version("demo")
    with pytest.raises(SealedVersionError):
        store.export(lv, "jsonl", sealed.path / "export.jsonl")
    assert sorted(p.name for p in sealed.path.iterdir()) == ["README.md", "data.jsonl", "manifest.json"]
    store.load_version("demo")  # still intact


def test_malformed_record_line_names_file_and_line(store: Store):
    sealed = seal_n(store, "demo", 2)
    p = sealed.path / "data.jsonl"
    p.chmod(0o644)
    lines = p.read_text().splitlines()
    p.write_text(lines[0] + "\n{oops\n")
    with pytest.raises(InputError, match=r"data.jsonl:2: malformed JSON"):
        store.load_version("demo", verify=False)


# --- crash safety (real processes killed with SIGKILL) ---
CRASH_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from factories import make_records
from rft.store import Store
Store({root!r}).seal("demo", make_records(4, prefix="new"), manifest={{"stage": "validate", "parent": 1}})
"""


def _seal_in_killed_process(root: Path, hook: str) -> subprocess.CompletedProcess:
    env = {**os.environ, f"RFT_TEST_CRASH_{hook}": "1"}
    code = CRASH_SCRIPT.format(tests=str(TESTS), root=str(root))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_crash_between_write_and_rename_keeps_previous_state(store: Store):
    v1 = seal_n(store, "demo", 3)
    before = {p.name: p.read_bytes() for p in v1.path.iterdir()}
    proc = _seal_in_killed_process(store.root, "BEFORE_RENAME")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    d = store.root / "demo"
    leftovers = list(d.glob(".tmp-v*"))
    assert len(leftovers) == 1 and (leftovers[0] / "data.jsonl").exists()  # it died after writing
    assert not (d / "v2").exists()
    assert (d / "LATEST").read_text().strip() == "v1"
    assert store.versions("demo") == [1] and store.list_datasets() == [("demo", [1], 1)]
    lv = store.load_version("demo")
    assert lv.version == 1 and [r.id for r in lv.records] == ["p0", "p1", "p2"]
    assert {p.name: p.read_bytes() for p in v1.path.iterdir()} == before
    # the next seal cleans the leftover and takes v2
    v2 = seal_n(store, "demo", 2, prefix="q")
    assert v2.version == 2 and not list(d.glob(".tmp-v*"))
    assert store.load_version("demo").version == 2


def test_crash_between_rename_and_latest_leaves_a_complete_version(store: Store):
    seal_n(store, "demo", 3)
    proc = _seal_in_killed_process(store.root, "BEFORE_LATEST")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert store.latest("demo") == 1 and store.load_version("demo").version == 1
    v2 = store.load_version("demo", 2)  # complete and verified, just not LATEST
    assert [r.id for r in v2.records] == ["new0", "new1", "new2", "new3"]
    assert seal_n(store, "demo", 1, prefix="z").version == 3 and store.latest("demo") == 3


# --- merge ---
def test_merge_shards(store: Store):
    seal_n(store, "shard0", 3, prefix="a")
    store.seal("shard1", [*make_records(2, prefix="b"), make_records(1, prefix="a")[0]], manifest={})
    merged = store.merge("all", ["shard0@v1", "shard1"])
    assert merged.ref == "all@v1"
    lv = store.load_version("all")
    assert [r.id for r in lv.records] == ["a0", "a1", "a2", "b0", "b1"]
    m = lv.manifest
    assert m.stage == "merge" and m.parents == ["shard0@v1", "shard1@v1"]
    assert m.counts["records"] == 5 and m.counts["duplicates_dropped"] == 1
    assert m.tokens_in == sum(r.outcome.tokens_in for r in make_records(3, prefix="a")) + sum(
        r.outcome.tokens_in for r in store.load_version("shard1").records
    )


def test_merge_conflicting_records_is_refused(store: Store):
    seal_n(store, "shard0", 2)
    store.seal("shard1", [make_record("p1", with_backtrack=False)], manifest={})
    with pytest.raises(InputError, match=r"'p1' is in shard0@v1 and shard1@v1 with different records"):
        store.merge("all", ["shard0@v1", "shard1@v1"])
    assert "all" not in [d.name for d in store.list_datasets()]
    with pytest.raises(ConfigError, match="given twice"):
        store.merge("all", ["shard0@v1", "shard0"])


# --- datasets / export ---
def test_to_hf_dataset_columns(store: Store):
    seal_n(store, "demo", 3)
    lv = store.load_version("demo")
    ds = store.to_hf_dataset(lv)
    assert len(ds) == 3
    assert ds.column_names == [
        "id", "question", "answer", "domain", "messages", "solved", "correct", "trainable", "backtracks", "render",
        "record",
    ]  # fmt: skip
    row = ds[0]
    assert row["id"] == "p0" and row["answer"] == "31" and row["domain"] == "math"
    assert row["messages"][0] == {"role": "user", "content": lv.records[0].problem.question}
    assert row["messages"][1]["role"] == "assistant"
    assert Record.model_validate_json(row["record"]) == lv.records[0]
    unsolved = Store(store.root)
    unsolved.seal("u", [make_record("x", solved=False)], manifest={})
    assert unsolved.to_hf_dataset(unsolved.load_version("u"))[0]["correct"] is None
    assert len(store.to_hf_dataset(store.load_version("u")).filter(lambda r: r["solved"])) == 0


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_export(store: Store, tmp_path: Path, fmt: str):
    seal_n(store, "demo", 4)
    lv = store.load_version("demo")
    out = store.export(lv, fmt, tmp_path / "exp" / f"demo.{fmt}")
    if fmt == "jsonl":
        rows = [json.loads(x) for x in out.read_text().splitlines()]
    else:
        rows = pq.read_table(out).to_pylist()
    assert [r["id"] for r in rows] == ["p0", "p1", "p2", "p3"]
    assert rows[0]["messages"][0]["role"] == "user"
    assert Record.model_validate_json(rows[3]["record"]) == lv.records[3]
    assert not list(out.parent.glob(".*tmp*"))


def test_list_ignores_runs_only_and_hidden(store: Store):
    store.open_run("wip").append_record(make_record())
    seal_n(store, "done", 1)
    (store.root / ".trash").mkdir()
    assert store.list_datasets() == [("done", [1], 1)]
    assert Store(store.root / "missing").list_datasets() == []


def test_secret_redaction_rules():
    from rft.redaction import REDACTED, redact, redact_argv

    config = {
        "api_key": "abc",
        "hf_token": "hf_x",
        "access-token": "t",
        "api_key_env": "OPENAI_API_KEY",  # the NAME of an env var is kept (resume needs it)
        "max_tokens": 256,
        "tokens_in": 3,
        "tokenizer": "gpt2",
        "base_url": "http://127.0.0.1:8000/v1",
        "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz"},
        "note": f"key was {SECRET}",
    }
    r = redact(config)
    assert r["api_key"] == r["hf_token"] == r["access-token"] == REDACTED
    assert r["headers"]["Authorization"] == REDACTED and SECRET not in r["note"]
    kept = ("api_key_env", "max_tokens", "tokens_in", "tokenizer", "base_url")
    assert {k: r[k] for k in kept} == {k: config[k] for k in kept}
    argv = [
        "rft",
        "generate",
        "--api-key",
        "abc",
        "--hf-token=xyz",
        "--api-key-env",
        "MY_KEY",
        "--max-tokens",
        "9",
    ]
    assert redact_argv(argv) == [
        "rft", "generate", "--api-key", REDACTED, f"--hf-token={REDACTED}", "--api-key-env", "MY_KEY", "--max-tokens", "9",
    ]  # fmt: skip
    # credentials inside URLs: user:password@ and secret query parameters; the rest of the URL stays
    url = "https://bob:pw123@llm.example.com/v1?api_key=abc123&model=m&sig=zz"
    assert redact({"base_url": url})["base_url"] == (
        f"https://{REDACTED}@llm.example.com/v1?api_key={REDACTED}&model=m&sig={REDACTED}"
    )
    assert redact_argv(["--base-url", "https://tok@h/v1"]) == ["--base-url", f"https://{REDACTED}@h/v1"]


def test_one_writer_process_per_run(store: Store):
    run = store.open_run("demo", "r1")
    run.append_record(make_record("p1"))  # this process now holds the run's writer lock
    code = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from factories import make_record
from rft.errors import ConfigError
from rft.store import Store
try:
    Store({str(store.root)!r}).open_run("demo", "r1").append_record(make_record("p2"))
except ConfigError as exc:
    print(exc)
    sys.exit(3)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert f"run r1 is being written by another process (pid {os.getpid()})" in proc.stdout
    assert run.done_ids() == {"p1"}
    store.open_run("demo", "r1").append_record(make_record("p3"))  # same process: fine
    assert run.done_ids() == {"p1", "p3"}


def test_sealed_folder_loads_with_datasets_via_card_header(store: Store, tmp_path: Path):
    """The card's YAML `configs` lets `datasets.load_dataset(<version folder>)` read data.jsonl as is."""
    from datasets import load_dataset

    sealed = seal_n(store, "demo", 3)
    ds = load_dataset(str(sealed.path), split="train", cache_dir=str(tmp_path / "hf-cache"))
    assert len(ds) == 3 and ds[0]["schema_version"] == "1.0"
    assert ds[0]["problem"]["id"] == "p0" and ds[0]["messages"][0]["role"] == "user"
    assert [e["type"] for e in ds[0]["trace"]["events"]][:2] == ["expand", "select"]


def test_generated_card_names_the_version_sealed_even_after_a_concurrent_seal(store: Store):
    from functools import partial

    from rft.generate.card import generate_card
    from rft.generate.config import GenerateConfig

    seal_n(store, "demo", 1)
    records = make_records(2, prefix="q")
    manifest = {"stage": "generate", "validator": "answer", "counts": {}, "metadata": {}}
    card = partial(
        generate_card,
        manifest=manifest,
        cfg=GenerateConfig(problems="demo"),
    )  # prepared at v1
    seal_n(store, "demo", 1)  # another process seals v2 in between
    v3 = store.seal("demo", records, manifest=manifest, card=card)
    assert v3.version == 3
    text = (v3.path / "README.md").read_text()
    assert "# demo (v3)" in text and "demo v3" in text and "(v2)" not in text
