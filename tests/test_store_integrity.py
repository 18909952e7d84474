"""Store integrity (issue 8, items 6-9): one version per seal (kills and concurrent seals), merge never
supersedes validated data silently, hand-edited manifests are detected, one broken dataset does not
break `rft datasets list`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record, make_records
from filelock import FileLock

from rft.errors import ChecksumError
from rft.store import Store

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "datasets_out")


def one_line_error(code: int, out: str, err: str, *needles: str) -> str:
    assert code == 2, (out, err)
    lines = [x for x in err.splitlines() if x.strip()]
    text = " ".join(" ".join(lines).split())
    assert text.startswith("error:") and "Traceback" not in err, err
    for n in needles:
        assert n in text, (n, text)
    return text


# --- item 6: sealing is idempotent -------------------------------------------------------------
# `rft generate` with the scripted teacher of test_generate_runner, in a real process that may be killed
GENERATE_SCRIPT = """
import sys, pathlib
sys.path.insert(0, {tests!r})
from test_generate_runner import make_cfg, run
res = run(make_cfg(pathlib.Path({tmp!r})))
print("RESULT", res.ref)
"""


def _generate_in_process(tmp: Path, **env: str) -> subprocess.Popen:
    code = GENERATE_SCRIPT.format(tests=str(TESTS), tmp=str(tmp))
    return subprocess.Popen(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _generate(tmp: Path, **env: str) -> subprocess.CompletedProcess:
    proc = _generate_in_process(tmp, **env)
    out, err = proc.communicate(timeout=180)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.parametrize("hook", ["BEFORE_LATEST", "BEFORE_MARK"])
def test_generate_killed_after_rename_rerun_recognises_its_version(tmp_path: Path, hook: str):
    """Killed after v1 was renamed into place (before LATEST / before the run was marked): the same
    command again finds v1 from its manifest (run id + content hash), writes no v2 and fixes LATEST."""
    killed = _generate(tmp_path, **{f"RFT_TEST_CRASH_{hook}": "1"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store = Store(tmp_path / "out")
    assert store.versions("toy") == [1]
    (run,) = store.runs("toy")
    assert run.sealed_as is None  # the kill came before the run knew
    m = store.read_manifest("toy", 1)
    assert m.identity is not None and m.identity["run_id"] == run.id and m.identity["records_sha256"]
    again = _generate(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "RESULT toy@v1" in again.stdout and "already sealed as toy@v1" in again.stdout
    assert store.versions("toy") == [1]
    assert store.latest("toy") == 1 and run.sealed_as == "toy@v1"
    assert store.load_version("toy").version == 1


def test_two_identical_generates_sealing_at_once_write_one_version(tmp_path: Path):
    """A finished but unsealed run (killed before its rename) sealed by two identical commands at
    once: the second finds the first's version inside the lock, both exit 0, one version."""
    killed = _generate(tmp_path, RFT_TEST_CRASH_BEFORE_RENAME="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    store = Store(tmp_path / "out")
    assert store.versions("toy") == [] and len(store.runs("toy")[0].done_ids()) == 6
    lock = FileLock(str(store.dataset_dir("toy") / ".lock"))
    with lock:  # both processes get as far as the seal, then wait for this lock
        procs = [_generate_in_process(tmp_path) for _ in range(2)]
        time.sleep(6)
    results = [p.communicate(timeout=180) for p in procs]
    for p, (out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "RESULT toy@v1" in out
    assert store.versions("toy") == [1] and store.latest("toy") == 1
    assert store.runs("toy")[0].sealed_as == "toy@v1"
    assert not list(store.dataset_dir("toy").glob(".tmp-v*"))


def test_sealing_a_run_twice_returns_the_first_version(store: Store):
    store.seal("demo", make_records(1, prefix="x"), manifest={})  # v1: some other seal
    run = store.open_run("demo", "r1")
    for r in make_records(3):
        run.append_record(r)
    first = store.seal("demo", run.records(), manifest={}, run=run)
    assert first.ref == "demo@v2" and not first.reused and run.sealed_as == "demo@v2"
    info = json.loads((run.path / "run.json").read_text())
    info.pop("sealed_as")  # as if killed before the run was marked
    (run.path / "run.json").write_text(json.dumps(info))
    assert run.sealed_as is None
    assert store.sealed_version_of(run).ref == "demo@v2"
    again = store.seal("demo", list(reversed(run.records())), manifest={}, run=run)  # order does not matter
    assert again.reused and again.ref == "demo@v2" and store.versions("demo") == [1, 2]
    assert run.sealed_as == "demo@v2"
    # a seal without a run names no run: it is never mistaken for this run's version
    assert store.seal("demo", run.records(), manifest={}).ref == "demo@v3"


def test_same_run_id_with_other_content_is_a_new_version(store: Store):
    run = store.open_run("demo", "r1")
    run.append_record(make_record("p0"))
    store.seal("demo", run.records(), manifest={}, run=run)
    # the run folder deleted and the same deterministic run id started again: other records
    import shutil

    shutil.rmtree(run.path)
    run = store.open_run("demo", "r1")
    run.append_record(make_record("p0", with_backtrack=False))
    assert store.sealed_version_of(run) is None
    assert store.seal("demo", run.records(), manifest={}, run=run).ref == "demo@v2"


def test_validate_twice_on_the_same_parent_seals_once(capsys, store: Store):
    store.seal("demo", make_records(3), manifest={"teacher": "local:smollm2-135m"})
    code, out, err = rft(capsys, "validate", "demo@v1", "--out", str(store.root))
    assert code == 0, err
    code, out, err = rft(capsys, "validate", "demo@v1", "--out", str(store.root))
    assert code == 0, err
    assert store.versions("demo") == [1, 2] and store.latest("demo") == 2
    assert "already sealed as demo@v2" in " ".join(out.split())
    m = store.read_manifest("demo", 2)
    assert m.identity["parent"] == "demo@v1" and m.identity["config_sha256"]


def test_validate_killed_before_latest_is_recognised(store: Store, tmp_path: Path):
    store.seal("demo", make_records(3), manifest={"teacher": "local:smollm2-135m"})
    env = {**os.environ, "RFT_TEST_CRASH_BEFORE_LATEST": "1"}
    args = [str(Path(sys.executable).with_name("rft")), "validate", "demo", "--out", str(store.root)]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert store.versions("demo") == [1, 2] and store.latest("demo") == 1
    proc = subprocess.run(args, capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert store.versions("demo") == [1, 2] and store.latest("demo") == 2


# --- item 7: merge never supersedes validated data silently -------------------------------------
@pytest.fixture
def validated(tmp_path: Path) -> Path:
    """demo@v1 from generate (4 records), demo@v2 its validated version (3 of them)."""
    store = Store(tmp_path / "datasets_out")
    store.seal("demo", [*make_records(3), make_record("leak")], manifest={"teacher": "t"})
    store.seal("demo", make_records(3), manifest={"stage": "validate", "parent": 1})
    return store.root


def test_validation_state_is_in_the_manifest(validated: Path):
    store = Store(validated)
    assert store.read_manifest("demo", 1).validated is False
    assert store.read_manifest("demo", 2).validated is True


def test_merge_unvalidated_over_validated_latest_is_refused(capsys, validated: Path):
    store = Store(validated)
    text = one_line_error(
        *rft(capsys, "datasets", "merge", "demo", "demo@v1", "--out", str(validated)),
        "demo@v1 is not validated",
        "demo@v2",
        "--allow-unvalidated",
    )
    assert "\n" not in text
    assert store.versions("demo") == [1, 2] and store.latest("demo") == 2
    assert [r.id for r in store.load_version("demo").records] == ["p0", "p1", "p2"]


def test_merge_unvalidated_with_the_flag_is_recorded_as_unvalidated(capsys, validated: Path):
    code, out, err = rft(
        capsys, "datasets", "merge", "demo", "demo@v1", "--allow-unvalidated", "--out", str(validated)
    )
    assert code == 0, err
    m = Store(validated).read_manifest("demo", 3)
    assert m.validated is False and m.parents == ["demo@v1"]
    assert "demo@v3 is not validated" in " ".join(err.split())
    code, out, err = rft(capsys, "datasets", "show", "demo", "--out", str(validated))
    assert code == 0, err
    assert any(line.split()[:2] == ["validated", "no"] for line in out.splitlines()), out


def test_merge_of_validated_versions_stays_validated(capsys, validated: Path):
    store = Store(validated)
    store.seal("shard", make_records(2, prefix="s"), manifest={"stage": "validate", "parent": 1})
    code, out, err = rft(capsys, "datasets", "merge", "demo", "demo@v2", "shard@v1", "--out", str(validated))
    assert code == 0, err
    assert store.latest("demo") == 3 and store.read_manifest("demo", 3).validated is True
    # into a new name, unvalidated data supersedes nothing: allowed, recorded as unvalidated
    code, out, err = rft(capsys, "datasets", "merge", "fresh", "demo@v1", "--out", str(validated))
    assert code == 0, err
    assert store.read_manifest("fresh", 1).validated is False


# --- item 8: the manifest's own checksum ------------------------------------------------------
def _edit_manifest(path: Path, edit) -> None:
    p = path / "manifest.json"
    data = json.loads(p.read_text())
    edit(data)
    p.chmod(0o644)
    p.write_text(json.dumps(data, indent=2))


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["counts"].update(records=400),
        lambda m: m.update(teacher="openai:gpt-4o"),
        lambda m: m.update(validated=True),
    ],
    ids=["counts", "teacher", "validated"],
)
def test_hand_edited_manifest_is_refused(capsys, validated: Path, edit):
    store = Store(validated)
    _edit_manifest(validated / "demo" / "v1", edit)
    with pytest.raises(ChecksumError, match="manifest.json: checksum mismatch"):
        store.load_version("demo", 1)
    one_line_error(
        *rft(capsys, "datasets", "show", "demo@v1", "--out", str(validated)),
        f"{validated / 'demo' / 'v1' / 'manifest.json'}: checksum mismatch",
        "edited after sealing",
    )
    one_line_error(*rft(capsys, "datasets", "merge", "m", "demo@v1", "--out", str(validated)), "checksum")


def test_manifest_without_checksum_loads_as_unverified(capsys, validated: Path):
    store = Store(validated)
    _edit_manifest(validated / "demo" / "v1", lambda m: m.pop("manifest_sha256"))
    assert store.load_version("demo", 1).manifest.manifest_sha256 is None
    code, out, err = rft(capsys, "datasets", "show", "demo@v1", "--out", str(validated))
    assert code == 0, err
    assert any(line.split()[:2] == ["manifest", "unverified"] for line in out.splitlines()), out
    code, out, err = rft(capsys, "datasets", "show", "demo@v2", "--out", str(validated))
    assert any(line.split()[:3] == ["manifest", "sha256", "verified"] for line in out.splitlines()), out


# --- item 9: one broken dataset does not break the listing ---------------------------------------
def test_list_shows_the_rest_and_marks_broken_datasets(capsys, validated: Path):
    store = Store(validated)
    store.seal("garbage", make_records(1), manifest={})
    (validated / "garbage" / "LATEST").write_text("\x00\x01nonsense")
    store.seal("malformed", make_records(1), manifest={})
    _edit_manifest(validated / "malformed" / "v1", lambda m: None)
    (validated / "malformed" / "v1" / "manifest.json").write_text("{not json")
    store.seal("zeta", make_records(2), manifest={})
    code, out, err = rft(capsys, "datasets", "list", "--out", str(validated))
    assert code == 0, err
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert set(rows) >= {"demo", "garbage", "malformed", "zeta"}
    assert [c.strip() for c in rows["demo"].split("│") if c.strip()][:4] == ["demo", "v1, v2", "v2", "3"]
    assert [c.strip() for c in rows["zeta"].split("│") if c.strip()][:4] == ["zeta", "v1", "v1", "2"]
    assert "broken" in rows["garbage"] and "broken" in rows["malformed"]
    said = " ".join(err.split())
    assert "garbage" in said and "LATEST" in said and "expected a version like 'v3'" in said
    assert "malformed" in said and "manifest.json" in said


def test_merging_the_same_parents_again_returns_the_first_merge(tmp_path: Path):
    store = Store(tmp_path / "store")
    store.seal("shard0", make_records(2, prefix="a"), manifest={})
    store.seal("shard1", make_records(2, prefix="b"), manifest={})
    first = store.merge("all", ["shard0@v1", "shard1@v1"])
    again = store.merge("all", ["shard0@v1", "shard1@v1"])
    assert not first.reused and again.reused and again.ref == first.ref == "all@v1"
    assert store.versions("all") == [1]


def test_runs_lists_the_rest_and_marks_a_broken_run(capsys, tmp_path: Path):
    store = Store(tmp_path / "store")
    good = store.open_run("demo", run_id="gen-good", meta={})
    good.append_record(make_records(1)[0])
    bad = store.open_run("demo", run_id="gen-bad", meta={})
    (bad.path / "run.json").write_text("{not json")
    code, out, err = rft(capsys, "datasets", "runs", "--out", str(tmp_path / "store"))
    assert code == 0, err
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.startswith("│")}
    assert "in progress" in rows["gen-good"] and "broken" in rows["gen-bad"]
    assert "run gen-bad is broken" in " ".join(err.split()) and "run.json" in err
