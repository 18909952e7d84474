"""`rft publish runs/<name>/<variant>`: an adapter trained by the real `rft train` (SmolLM2-135M, one
step) and scored by the real `rft eval` (two GSM8K items), published as a Hub model repo at the
`huggingface_hub.HfApi` boundary: the card's YAML links the base model and the dataset repository it
was trained on, the card shows the eval results, the folder loads as a PEFT adapter, a re-publish is
a no-op, and a folder that is not a run variant is one line, exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli as rft
from cli_helpers import (
    run_ok,
    wide_console,  # noqa: F401 (autouse fixture)
)
from factories import make_records
from test_publish import TOKEN, FakeHub

from rft.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(tmp_path_factory, bench_dir: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("adapter")
    store, runs, evals = root / "ds", root / "runs", root / "evals"
    Store(store).seal("d", make_records(4), manifest={"teacher": "local:smollm2-135m", "stage": "validate"})
    run_ok("train", "d", "--store", str(store), "--out", str(runs), "--rank", "2", "--alpha", "4",
          "--max-steps", "1", "--eval-split", "0", "--no-progress", "--max-length", "256", "--batch-size", "2")  # fmt: skip
    variant = runs / "d" / "r2-a4"
    run_ok("eval", "--adapter", str(variant), "--benchmarks", "gsm8k", "--benchmark-dir", str(bench_dir),
          "--limit", "2", "--max-new-tokens", "8", "--shots", "0", "--out", str(evals))  # fmt: skip
    return {"store": store, "runs": runs, "evals": evals, "variant": variant}


@pytest.fixture
def hub(monkeypatch, tmp_path: Path) -> FakeHub:
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return FakeHub(monkeypatch, tmp_path)


def _front(text: str) -> dict:
    return yaml.safe_load(text[4 : text.index("\n---\n", 4)])


def test_an_adapter_is_published_linked_to_its_dataset_with_its_eval_results(capsys, trained, hub: FakeHub):
    store, variant = trained["store"], trained["variant"]
    # the dataset first: its publication is recorded in the store, where the adapter finds it
    code, _, err = rft(
        capsys, "publish", "d@v1", "--out", str(store), "--repo-id", "alice/d-traces", "--license", "mit"
    )
    assert code == 0, err
    hub.calls.clear()
    args = [
        "publish",
        str(variant),
        "--out",
        str(store),
        "--repo-id",
        "alice/d-lora",
        "--evals",
        str(trained["evals"]),
    ]
    code, out, err = rft(capsys, *args, "--license", "apache-2.0")
    assert code == 0, err
    assert hub.methods() == ["list_repo_refs", "create_repo", "upload_folder", "create_tag"]
    calls = dict(hub.calls)
    assert calls["create_repo"]["repo_type"] == "model" and calls["upload_folder"]["repo_type"] == "model"
    oid = hub.repos["alice/d-lora"]["commits"][0][0]
    assert calls["create_tag"] == {"repo_id": "alice/d-lora", "tag": "r2-a4", "revision": oid, "token": TOKEN, "repo_type": "model"}  # fmt: skip
    assert "published adapter d/r2-a4 to alice/d-lora" in out and "tagged r2-a4" in out
    files = calls["upload_folder"]["files"]
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "manifest.json",
                 "metrics.json", "config.yaml", "loss.png", "eval_results.json", "rft_publish.json", "README.md"):  # fmt: skip
        assert name in files, name
    assert "training_args.bin" not in files
    assert files["adapter_model.safetensors"] == (variant / "adapter_model.safetensors").read_bytes()
    assert files["manifest.json"] == (variant / "manifest.json").read_bytes()

    card = files["README.md"].decode()
    meta = _front(card)
    assert meta["base_model"] == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert meta["datasets"] == ["alice/d-traces"] and meta["license"] == "apache-2.0"
    assert meta["library_name"] == "peft" and "rft" in meta["tags"]
    dsha = Store(store).read_manifest("d").files["data.jsonl"].sha256
    assert f"at revision `v1` (d@v1, data.jsonl sha256 `{dsha[:16]}`)" in card
    assert 'PeftModel.from_pretrained(base, "alice/d-lora", revision="r2-a4")' in card
    assert "| rank (r) | 2 |" in card and "| alpha | 4 |" in card  # the train card's hyperparameters
    [eval_dir] = [p for p in trained["evals"].iterdir() if (p / "results.json").is_file()]
    results = json.loads((eval_dir / "results.json").read_text())
    acc = results["benchmarks"]["gsm8k"]["d/r2-a4"]["extractions"]["rft"]["accuracy"]["value"]
    assert f"| {eval_dir.name} | gsm8k | {acc * 100:.1f} ± " in card
    shown = json.loads(files["eval_results.json"])
    assert shown[0]["eval"] == eval_dir.name and shown[0]["benchmarks"]["gsm8k"]["adapter"]["accuracy"] == acc
    marker = json.loads(files["rft_publish.json"])
    manifest = json.loads((variant / "manifest.json").read_text())
    assert marker["kind"] == "adapter" and marker["identity"] == manifest["identity"]
    assert marker["dataset"] == {
        "ref": "d@v1",
        "data_sha256": dsha,
        "repo_id": "alice/d-traces",
        "revision": "v1",
    }
    assert TOKEN.encode() not in b"".join(files.values())

    hub.calls.clear()
    code, out, err = rft(capsys, *args, "--license", "apache-2.0")
    assert code == 0 and "d/r2-a4 is already published to alice/d-lora under the tag r2-a4" in out
    assert hub.methods() == ["list_repo_refs", "hf_hub_download"]


def test_the_dry_run_folder_loads_as_a_peft_adapter(capsys, trained, smollm2_dir: Path, tmp_path: Path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    folder = tmp_path / "adapter-folder"
    code, out, err = rft(
        capsys, "publish", str(trained["variant"]), "--repo-id", "alice/d-lora", "--dry-run", "--folder", str(folder),
        "--out", str(tmp_path / "empty-store"), "--evals", str(trained["evals"]),
    )  # fmt: skip
    assert code == 0, err
    assert f"wrote {folder}" in out and "adapter_model.safetensors" in out
    assert "the dataset it was trained on (d@v1) was never published" in err  # this store never published it
    card = (folder / "README.md").read_text()
    assert "datasets" not in _front(card) and "rft publish d@v1 --repo-id OWNER/NAME" in card
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(smollm2_dir), folder)
    assert model.peft_config["default"].r == 2


def test_a_folder_that_is_not_a_run_variant_is_one_line(capsys, trained, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    code, _, err = rft(capsys, "publish", str(tmp_path / "runs" / "nope"), "--repo-id", "alice/x")
    assert code == 2 and "no such run variant folder" in err and len(err.strip().splitlines()) == 1
    code, _, err = rft(capsys, "publish", str(trained["runs"] / "d"), "--repo-id", "alice/x")
    assert (
        code == 2
        and "not a finished run variant of `rft train` (no adapter_config.json, manifest.json)" in err
    )
