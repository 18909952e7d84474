"""`rft publish NAME@vN` end to end from the CLI: a version made by the real generate stage (scripted
teacher) and the real `rft validate`. The dry-run folder loads back with `datasets.load_dataset`,
every config, record for record; the card's YAML parses and carries the counts; the upload path is
tested at the `huggingface_hub.HfApi` boundary (the calls, their arguments, the tag, upload before tag,
a failure between them leaves no tag), since no Hub runs here; bad input is one line and exit 2; a
key in the environment and in a record never reaches a file."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_records
from test_search import SCRIPT
from test_search_support import ScriptedTeacher

from rft.schemas import Problem, ProblemSource, Record
from rft.store import Store

TOKEN = "hf_" + "Xq7" * 12  # a fake Hub token: shaped like one, never valid
CONFIGS = ("default", "solved_correct", "path", "backtrack", "search")


def _generate(root: Path) -> None:
    from rft.generate.config import GenerateConfig
    from rft.generate.runner import GenerateRun

    problems = [
        Problem(
            id=f"p{i}",
            question=f"What is 3 + {i}? ({i})",
            answer=str(3 + i),
            source=ProblemSource(kind="builtin", name="demo", row=i),
        )
        for i in range(6)
    ]
    cfg = GenerateConfig(problems="scripted", name="toy", out=str(root), concurrency=1, validator="answer")
    GenerateRun(
        cfg,
        ["rft", "generate"],
        teacher=ScriptedTeacher(SCRIPT),
        judge=None,
        progress=False,
        problems=problems,
    ).execute(dry=False)


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> Path:
    """toy@v1 (generated, 6 records, 2 trainable) and toy@v2 (`rft validate --keep-unsolved` of it,
    against GSM8K's shipped fingerprints): a pristine store each test copies."""
    root = tmp_path_factory.mktemp("made") / "ds"
    _generate(root)
    import subprocess
    import sys

    subprocess.run(
        [sys.executable, "-m", "rft.cli", "validate", "toy@v1", "--out", str(root), "--benchmarks", "gsm8k",
         "--keep-unsolved"],
        check=True, capture_output=True, cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    return root


@pytest.fixture
def store(made: Path, tmp_path: Path, monkeypatch) -> Path:
    root = tmp_path / "ds"
    shutil.copytree(made, root)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    return root


def _load(folder: Path, config: str, cache: Path):
    from datasets import load_dataset

    return load_dataset(str(folder), config, split="train", cache_dir=str(cache))


def _front(text: str) -> dict:
    assert text.startswith("---\n")
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)])


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


# --- the dry run ---------------------------------------------------------------------------------
def test_dry_run_folder_loads_back_every_config_record_for_record(capsys, store: Path, tmp_path: Path):
    from rft.generate.render import render

    code, out, err = rft(
        capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy", "--dry-run"
    )
    assert code == 0, err
    folder = store / "toy" / "publish" / "v2"
    assert f"wrote {folder}" in out and "nothing was uploaded" in out and "tagged v2" in out
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == sorted(
        ["README.md", "manifest.json", "rft_publish.json", "validation_report.json"]
        + [f"data/{c}/train-00000-of-00001.parquet" for c in CONFIGS]
    )
    for name in names:  # the listing printed is the folder
        assert name in out
    lv = Store(store).load_ref("toy@v2")
    sealed = lv.path
    assert (folder / "manifest.json").read_bytes() == (sealed / "manifest.json").read_bytes()
    assert (folder / "validation_report.json").read_bytes() == (
        sealed / "validation_report.json"
    ).read_bytes()
    trainable = [r for r in lv.records if r.outcome.trainable]
    assert len(lv.records) == 6 and len(trainable) == 2

    cache = tmp_path / "hf-cache"
    default = _load(folder, "default", cache)
    assert [Record.model_validate_json(x) for x in default["record"]] == lv.records
    assert default["messages"] == [[m.model_dump() for m in r.messages] for r in lv.records]
    assert default["id"] == [r.id for r in lv.records]
    assert default["trainable"] == [r.outcome.trainable for r in lv.records]
    solved = _load(folder, "solved_correct", cache)
    assert [Record.model_validate_json(x) for x in solved["record"]] == trainable
    for style in ("path", "backtrack", "search"):
        ds = _load(folder, style, cache)
        assert ds["id"] == [r.id for r in trainable] and set(ds["render"]) == {style}
        assert ds["messages"] == [[m.model_dump() for m in render(r, style)] for r in trainable]
        for row, r in zip(ds["record"], trainable, strict=True):  # the trace is kept whole
            assert Record.model_validate_json(row).trace == r.trace
    assert _load(folder, "path", cache)["messages"] != solved["messages"]  # a render, not a copy

    marker = json.loads((folder / "rft_publish.json").read_text())
    assert marker["ref"] == "toy@v2" and marker["manifest_sha256"] == lv.manifest.manifest_sha256
    assert marker["data_sha256"] == lv.manifest.files["data.jsonl"].sha256

    # the same dry run again replaces the folder with the same bytes
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert (
        rft(capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy", "--dry-run")[0] == 0
    )
    assert {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()} == before


def test_card_yaml_parses_and_carries_the_counts_and_datasets_card_prints_it(
    capsys, store: Path, tmp_path: Path
):
    folder = tmp_path / "out-folder"
    code, _, err = rft(
        capsys,
        "publish",
        "toy@v2",
        "--out",
        str(store),
        "--repo-id",
        "alice/toy",
        "--dry-run",
        "--folder",
        str(folder),
    )
    assert code == 0, err
    card = (folder / "README.md").read_text()
    meta = _front(card)
    assert meta["license"] == "apache-2.0"  # rft's built-in problems
    assert meta["size_categories"] == ["n<1K"] and meta["task_categories"] == ["text-generation"]
    assert meta["source_datasets"] == ["original"]
    assert [c["config_name"] for c in meta["configs"]] == list(CONFIGS)
    assert meta["configs"][0]["default"] is True
    assert meta["configs"][2]["data_files"] == [{"split": "train", "path": "data/path/train-*.parquet"}]
    body = card[card.index("\n---\n", 4) :]
    assert "| records | 6 |" in body and "| solved | 2 (33.3%) |" in body
    assert "| trainable (solved and correct) | 2 (33.3%) |" in body
    assert "| `default` | 6 |" in body and "| `solved_correct` | 2 |" in body
    assert "gsm8k (fingerprints, 1319 test items)" in body and "lexical `containment` threshold" in body
    assert "strategy `dfs`" in body and "teacher: `local:smollm2-135m`" in body and "prompts:" in body
    assert "- toy@v2: `validate` from toy@v1, 6 records" in body and "- toy@v1: `generate`" in body
    assert 'load_dataset("alice/toy", "path", revision="v2", split="train")' in body
    assert "rft train toy@v2" in body and "SFTTrainer(" in body
    assert "Not validated" not in body

    code, printed, err = rft(
        capsys, "datasets", "card", "toy@v2", "--out", str(store), "--repo-id", "alice/toy"
    )
    assert code == 0, err
    assert printed == card


def test_an_unvalidated_version_needs_the_flag_and_the_card_says_so_first(
    capsys, store: Path, tmp_path: Path
):
    code, out, err = rft(
        capsys, "publish", "toy@v1", "--out", str(store), "--repo-id", "alice/toy", "--dry-run"
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "toy@v1 never went through `rft validate`" in err and "--allow-unvalidated" in err
    assert not (store / "toy" / "publish").exists()
    code, _, err = rft(
        capsys,
        "publish",
        "toy@v1",
        "--out",
        str(store),
        "--repo-id",
        "alice/toy",
        "--dry-run",
        "--allow-unvalidated",
    )
    assert code == 0, err
    card = (store / "toy" / "publish" / "v1" / "README.md").read_text()
    first = card.split("\n---\n", 1)[1].split("\n\n")[1]  # the paragraph after the title
    assert first.startswith("**Not validated: toy@v1 never went through `rft validate`**")
    assert "## Decontamination\n\nNone: no version in this lineage went through `rft validate`" in card


def test_a_file_source_needs_a_license(capsys, tmp_path: Path, monkeypatch):
    root = tmp_path / "ds"
    src = ProblemSource(kind="file", name="mine.jsonl", row=0)
    Store(root).seal("mine", make_records(3, source=src), manifest={"stage": "validate"})
    args = ["publish", "mine", "--out", str(root), "--repo-id", "alice/mine", "--dry-run"]
    code, _, err = rft(capsys, *args)
    assert (
        code == 2
        and "--license is required: the license of the problem source file mine.jsonl is unknown" in err
    )
    code, _, err = rft(capsys, *args, "--license", "cc-by-4.0")
    assert code == 0, err
    assert _front((root / "mine" / "publish" / "v1" / "README.md").read_text())["license"] == "cc-by-4.0"


# --- the Hub boundary ----------------------------------------------------------------------------
class FakeHub:
    """HfApi's methods replaced by a repository held in memory: what was called, in order, with
    which arguments; the files of each commit (copied when uploaded: the folder is a temp folder);
    the tags. `fail` makes one method raise the error huggingface_hub raises for a status."""

    def __init__(self, monkeypatch, tmp: Path) -> None:
        from huggingface_hub import HfApi

        self.tmp = tmp
        self.calls: list[tuple[str, dict]] = []
        self.repos: dict[str, dict] = {}  # repo_id -> {"type", "private", "commits": [(oid, files)], "tags"}
        self.fail: dict[str, int] = {}
        for name in ("list_repo_refs", "create_repo", "upload_folder", "create_tag", "hf_hub_download"):
            monkeypatch.setattr(HfApi, name, getattr(self, name))

    def _raise(self, method: str, url: str) -> None:
        import httpx2
        from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

        status = self.fail.get(method)
        if status is None:
            return
        response = httpx2.Response(status, request=httpx2.Request("POST", url))
        cls = RepositoryNotFoundError if status == 404 else HfHubHTTPError
        raise cls(f"{status} Server Error for url {url}", response=response)

    def _repo(self, repo_id: str) -> dict:
        from huggingface_hub.errors import RepositoryNotFoundError

        if repo_id not in self.repos:
            import httpx2

            url = f"https://huggingface.co/api/datasets/{repo_id}/refs"
            raise RepositoryNotFoundError(
                "404 Repository Not Found", response=httpx2.Response(404, request=httpx2.Request("GET", url))
            )
        return self.repos[repo_id]

    def list_repo_refs(self, repo_id, *, repo_type=None, token=None, **kw):
        from huggingface_hub.hf_api import GitRefInfo, GitRefs

        self.calls.append(("list_repo_refs", {"repo_id": repo_id, "repo_type": repo_type, "token": token}))
        repo = self._repo(repo_id)
        tags = [
            GitRefInfo(name=t, ref=f"refs/tags/{t}", target_commit=oid) for t, oid in repo["tags"].items()
        ]
        return GitRefs(branches=[], converts=[], tags=tags)

    def hf_hub_download(
        self, repo_id, filename, *, repo_type=None, revision=None, token=None, cache_dir=None, **kw
    ):
        from huggingface_hub.errors import RemoteEntryNotFoundError

        self.calls.append(
            ("hf_hub_download", {"repo_id": repo_id, "filename": filename, "revision": revision})
        )
        repo = self._repo(repo_id)
        oid = repo["tags"][revision]
        files = dict(next(f for o, f in repo["commits"] if o == oid))
        if filename not in files:
            import httpx2

            raise RemoteEntryNotFoundError(
                "404 Entry Not Found", response=httpx2.Response(404, request=httpx2.Request("GET", "x"))
            )
        out = Path(cache_dir) / filename
        out.write_bytes(files[filename])
        return str(out)

    def create_repo(self, repo_id, *, token=None, private=None, repo_type=None, exist_ok=False, **kw):
        self.calls.append(("create_repo", {"repo_id": repo_id, "token": token, "private": private, "repo_type": repo_type, "exist_ok": exist_ok}))  # fmt: skip
        self._raise("create_repo", repo_id)
        self.repos.setdefault(repo_id, {"type": repo_type, "private": private, "commits": [], "tags": {}})

    def upload_folder(
        self,
        *,
        repo_id,
        folder_path,
        repo_type=None,
        token=None,
        commit_message=None,
        delete_patterns=None,
        **kw,
    ):
        from huggingface_hub.hf_api import CommitInfo

        folder = Path(folder_path)
        files = {
            p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
        }
        self.calls.append(("upload_folder", {"repo_id": repo_id, "repo_type": repo_type, "token": token,
                                             "commit_message": commit_message, "delete_patterns": delete_patterns,
                                             "files": files, **kw}))  # fmt: skip
        self._raise("upload_folder", repo_id)
        repo = self._repo(repo_id)
        oid = f"{len(repo['commits']) + 1:040x}"
        repo["commits"].append((oid, files))
        return CommitInfo(commit_url=f"https://huggingface.co/datasets/{repo_id}/commit/{oid}", commit_message=commit_message or "", commit_description="", oid=oid)  # fmt: skip

    def create_tag(
        self, repo_id, *, tag, tag_message=None, revision=None, token=None, repo_type=None, exist_ok=False
    ):
        self.calls.append(("create_tag", {"repo_id": repo_id, "tag": tag, "revision": revision, "token": token, "repo_type": repo_type}))  # fmt: skip
        self._raise("create_tag", repo_id)
        repo = self._repo(repo_id)
        assert tag not in repo["tags"], "a tag is never moved"
        repo["tags"][tag] = revision

    def methods(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def hub(monkeypatch, tmp_path: Path) -> FakeHub:
    return FakeHub(monkeypatch, tmp_path)


def test_upload_then_tag_with_the_dry_run_folder_and_the_token(
    capsys, store: Path, hub: FakeHub, tmp_path: Path
):
    code, out, err = rft(
        capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy", "--private"
    )
    assert code == 0, err
    assert hub.methods() == [
        "list_repo_refs",
        "create_repo",
        "upload_folder",
        "create_tag",
    ]  # upload before tag
    calls = dict(hub.calls)
    assert calls["create_repo"] == {"repo_id": "alice/toy", "token": TOKEN, "private": True, "repo_type": "dataset", "exist_ok": True}  # fmt: skip
    up = calls["upload_folder"]
    assert (up["repo_id"], up["repo_type"], up["token"]) == ("alice/toy", "dataset", TOKEN)
    assert up["commit_message"] == "rft publish toy@v2 (v2)" and up["delete_patterns"] == "*"
    oid = hub.repos["alice/toy"]["commits"][0][0]
    assert calls["create_tag"] == {"repo_id": "alice/toy", "tag": "v2", "revision": oid, "token": TOKEN, "repo_type": "dataset"}  # fmt: skip
    assert f"published dataset toy@v2 to alice/toy (commit {oid[:12]}), tagged v2" in out
    assert "https://huggingface.co/datasets/alice/toy/tree/v2" in out

    # what was uploaded is exactly the dry-run folder
    dry = tmp_path / "dry"
    assert rft(capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy", "--dry-run", "--folder", str(dry))[0] == 0  # fmt: skip
    assert up["files"] == {
        p.relative_to(dry).as_posix(): p.read_bytes() for p in dry.rglob("*") if p.is_file()
    }

    record = json.loads((store / "toy" / "reports" / "publish-v2-alice--toy.json").read_text())
    assert record["repo_id"] == "alice/toy" and record["tag"] == "v2" and record["commit"] == oid
    assert TOKEN.encode() not in b"".join(up["files"].values()) and TOKEN.encode() not in _all_bytes(tmp_path)
    assert TOKEN not in out + err


def test_republishing_is_a_no_op_and_v3_after_v2_keeps_v2s_tag(capsys, store: Path, hub: FakeHub):
    args = ["--out", str(store), "--repo-id", "alice/toy"]
    assert rft(capsys, "publish", "toy@v2", *args)[0] == 0
    hub.calls.clear()
    code, out, err = rft(capsys, "publish", "toy@v2", *args)
    assert code == 0, err
    assert (
        "toy@v2 is already published to alice/toy under the tag v2 (same checksums); nothing was uploaded"
        in out
    )
    assert hub.methods() == ["list_repo_refs", "hf_hub_download"]  # the tag's marker was read; nothing sent

    # toy@v3: the validated records again, re-validated with another threshold
    code, _, err = rft(capsys, "validate", "toy@v2", "--out", str(store), "--benchmarks", "gsm8k", "--keep-unsolved", "--threshold", "0.5")  # fmt: skip
    assert code == 0, err
    hub.calls.clear()
    code, out, err = rft(capsys, "publish", "toy", *args)  # LATEST is v3
    assert code == 0, err
    assert hub.methods() == ["list_repo_refs", "create_repo", "upload_folder", "create_tag"]
    repo = hub.repos["alice/toy"]
    (c1, files1), (c2, files2) = repo["commits"]
    assert repo["tags"] == {"v2": c1, "v3": c2}  # v2 still points at its own commit
    assert json.loads(files1["rft_publish.json"])["ref"] == "toy@v2"
    assert json.loads(files2["rft_publish.json"])["ref"] == "toy@v3"
    assert json.loads(files2["manifest.json"])["parent"] == 2


def test_a_tag_holding_something_else_is_refused(capsys, store: Path, hub: FakeHub):
    hub.repos["alice/toy"] = {"type": "dataset", "private": False, "commits": [("a" * 40, {"README.md": b"x"})], "tags": {"v2": "a" * 40}}  # fmt: skip
    code, _, err = rft(capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "alice/toy already has a tag v2 holding files rft did not publish" in err
    assert "upload_folder" not in hub.methods() and hub.repos["alice/toy"]["tags"] == {"v2": "a" * 40}


@pytest.mark.parametrize(
    ("method", "status", "message", "uploaded"),
    [
        ("upload_folder", 500, "cannot upload to alice/toy: the Hub answered 500", False),
        ("upload_folder", 403, "the token in $HF_TOKEN may not write to alice/toy (403)", False),
        ("create_repo", 401, "the Hub refused the token in $HF_TOKEN (401", False),
        ("create_tag", 500, "uploaded, but cannot tag v2 in alice/toy", True),
    ],
)
def test_a_failure_before_the_tag_leaves_no_tag(
    capsys, store: Path, hub: FakeHub, method, status, message, uploaded
):
    hub.fail[method] = status
    code, out, err = rft(capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err
    repo = hub.repos.get("alice/toy", {"commits": [], "tags": {}})
    assert repo["tags"] == {}
    assert bool(repo["commits"]) is uploaded
    if method != "create_tag":
        assert "create_tag" not in hub.methods() and "nothing was uploaded or tagged" in err
    else:
        assert "untagged, and no tag v2 exists: run the same command again to tag it" in err
        del hub.fail[method]  # the same command again: the same files, now tagged
        assert rft(capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy")[0] == 0
        assert list(hub.repos["alice/toy"]["tags"]) == ["v2"]
    assert (store / "toy" / "reports" / "publish-v2-alice--toy.json").exists() is (method == "create_tag")


# --- bad input -----------------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_input_is_one_line_exit_2_and_nothing_sent(capsys, store: Path, hub: FakeHub, monkeypatch):
    base = ["publish", "toy@v2", "--out", str(store)]
    monkeypatch.delenv("HF_TOKEN")
    code, _, err = rft(capsys, *base, "--repo-id", "alice/toy")
    assert code == 2 and "no Hub token: $HF_TOKEN is not set" in err
    code, _, err = rft(capsys, *base, "--repo-id", "alice/toy", "--token-env", "MY_HUB_TOKEN")
    assert code == 2 and "no Hub token: $MY_HUB_TOKEN is not set" in err
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    for bad in ("toy", "alice/", "/toy", "alice/toy/x", "alice//toy", "al ice/toy"):
        code, _, err = rft(capsys, *base, "--repo-id", bad)
        assert code == 2 and f"--repo-id must be a Hub repository id owner/name (e.g. alice/gsm8k-traces), got {bad!r}" in err  # fmt: skip
    code, _, err = rft(capsys, *base, "--repo-id", "alice/toy", "--token-env", TOKEN)
    assert code == 2 and "--token-env must be the NAME of an environment variable" in err and TOKEN not in err
    assert hub.calls == []

    # a version whose data changed after sealing
    data = store / "toy" / "v2" / "data.jsonl"
    data.chmod(0o644)
    data.write_text(data.read_text().replace("What is 3 + 2?", "What is 3 + 9?"))
    code, _, err = rft(capsys, *base, "--repo-id", "alice/toy")
    assert code == 2 and "data.jsonl: sha256 mismatch" in err and len(err.strip().splitlines()) == 1
    assert hub.calls == []


def test_an_unreachable_hub_is_one_line(capsys, store: Path, monkeypatch):
    # the real HfApi against a port nobody listens on
    url = f"http://127.0.0.1:{_closed_port()}"
    code, _, err = rft(
        capsys, "publish", "toy@v2", "--out", str(store), "--repo-id", "alice/toy", "--endpoint", url
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"cannot read the tags of alice/toy: cannot reach the Hub at {url}" in err
    assert "nothing was uploaded or tagged" in err and TOKEN not in err


def test_a_key_in_a_record_or_the_environment_is_refused_and_never_written(capsys, tmp_path: Path, hub: FakeHub, monkeypatch):  # fmt: skip
    root = tmp_path / "ds"
    provider_key = "sk-" + "Ab3" * 10  # shaped like a provider key
    hub_token = "Zq9" * 8 + "Yw2" * 4  # the upload's token: no telltale shape, known from --token-env
    records = make_records(3)
    records[1].trace.nodes[1].text += f" (debug: OPENAI_API_KEY={provider_key})"
    Store(root).seal("leaky", records, manifest={"stage": "validate"})
    records = make_records(3)
    records[2].problem.question += f" token {hub_token}"
    Store(root).seal("quiet", records, manifest={"stage": "validate"})  # sealed before the variable is set
    monkeypatch.setenv("RFT_TEST_HUB_TOKEN", hub_token)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    args = ["--out", str(root), "--repo-id", "alice/x", "--token-env", "RFT_TEST_HUB_TOKEN"]

    code, out, err = rft(capsys, "publish", "leaky", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert (
        "leaky@v1: record 'p1' field trace.nodes[1].text holds something that looks like a key or token"
        in err
    )
    assert provider_key not in out + err
    code, out, err = rft(capsys, "publish", "quiet", *args, "--dry-run")
    assert (
        code == 2
        and "quiet@v1: record 'p2' field problem.question holds something that looks like a key" in err
    )
    assert hub_token not in out + err
    assert (
        hub.calls == []
        and not (root / "leaky" / "publish").exists()
        and not (root / "quiet" / "publish").exists()
    )

    # a clean version publishes, and neither token reaches any file written or uploaded
    Store(root).seal("clean", make_records(3), manifest={"stage": "validate"})
    code, out, err = rft(capsys, "publish", "clean", *args)
    assert code == 0, err
    assert dict(hub.calls)["upload_folder"]["token"] == hub_token
    uploaded = b"".join(dict(hub.calls)["upload_folder"]["files"].values())
    written = _all_bytes(tmp_path)
    for secret in (hub_token, TOKEN):
        assert secret.encode() not in uploaded and secret not in out + err
    assert TOKEN.encode() not in written and hub_token.encode() not in _all_bytes(root / "clean")


def test_a_config_file_gives_the_options(capsys, store: Path, tmp_path: Path):
    from datasets import load_dataset

    cfg = tmp_path / "publish.yaml"
    folder = tmp_path / "from-config"
    cfg.write_text(f"publish:\n  repo_id: alice/toy\n  dry_run: true\n  folder: {folder}\n")
    code, out, err = rft(capsys, "publish", "toy@v2", "--out", str(store), "--config", str(cfg))
    assert code == 0, err
    assert f"wrote {folder}" in out
    ds = load_dataset(str(folder), split="train", cache_dir=str(tmp_path / "cache"))  # no config: `default`
    assert len(ds) == 6
    code, _, err = rft(
        capsys, "publish", "toy@v2", "--out", str(store), "--config", str(cfg), "--repo-id", "nope"
    )
    assert code == 2 and "--repo-id must be a Hub repository id owner/name" in err
