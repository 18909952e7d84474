"""The folder an adapter of `rft train` is published as (a Hub model repo): the adapter and tokenizer
files of the run variant, its manifest, metrics, resolved config and loss plot, the eval results
`rft eval` has of it (`eval_results.json`), the provenance marker and the card: the variant's own
card (rft.train.report.model_card) with `base_model`, `datasets` and `license` in its YAML so the Hub
links them, the dataset repository and revision it was trained on, and its eval results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import yaml

import rft
from rft.errors import InputError
from rft.publish.layout import MARKER, README, Bundle
from rft.publish.ledger import publications
from rft.publish.scan import check_folder
from rft.store import Store, parse_ref
from rft.store.card import _md_cell
from rft.store.fsutil import sha256_file

EVAL_RESULTS = "eval_results.json"
WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
# not published: TrainingArguments pickled by the Trainer (loading it runs code; nothing needs it)
LEFT_OUT = ("training_args.bin",)


def is_variant_folder(path: Path) -> bool:
    return path.is_dir() and (path / "adapter_config.json").is_file() and (path / "manifest.json").is_file()


def read_variant(folder: Path) -> dict[str, Any]:
    """The train manifest of a run variant folder; an InputError when `folder` is not one."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such run variant folder (expected runs/<name>/<variant>)")
    missing = [n for n in ("adapter_config.json", "manifest.json") if not (folder / n).is_file()]
    if missing or not any((folder / w).is_file() for w in WEIGHTS):
        what = ", ".join(missing) or "adapter_model.safetensors"
        raise InputError(f"{folder}: not a finished run variant of `rft train` (no {what})")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{folder / 'manifest.json'}: cannot read ({exc})") from exc
    if not isinstance(manifest, dict) or not str(manifest.get("kind", "")).startswith("rft-train"):
        raise InputError(f"{folder / 'manifest.json'}: not the manifest of an `rft train` run")
    return manifest


def weights_of(folder: Path) -> Path:
    return next(folder / w for w in WEIGHTS if (folder / w).is_file())


def published_dataset(store: Store, ref: str, data_sha256: str) -> dict[str, Any] | None:
    """Where the dataset version an adapter was trained on was published from `store` (the record
    `rft publish` keeps in OUT/NAME/reports/), matched by the data's sha256; None if it never was."""
    try:
        name, _ = parse_ref(ref)
    except Exception:
        return None
    for p in publications(store, name):
        if p.get("data_sha256") == data_sha256:
            return p
    return None


def eval_results(evals: Path, identity: str | None) -> list[dict[str, Any]]:
    """The results of every `rft eval` under `evals` that scored the adapter of this `identity`: per
    eval, per benchmark, the adapter's and the base's headline accuracy and the paired comparison."""
    if not identity or not evals.is_dir():
        return []
    found = []
    for path in sorted(evals.glob("*/results.json")):
        try:
            res = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        models = res.get("models") or {}
        mine = [n for n, m in models.items() if m.get("kind") == "adapter" and m.get("identity") == identity]
        if not mine:
            continue
        name = mine[0]
        base = next((n for n, m in models.items() if m.get("kind") == "base"), None)
        benches = {}
        for bench, per in (res.get("benchmarks") or {}).items():
            if name not in per:
                continue
            row: dict[str, Any] = {"adapter": _headline(per[name])}
            if base and base in per:
                row["base"] = _headline(per[base])
            comp = (res.get("comparisons") or {}).get(bench, {}).get(name)
            if comp:
                row["comparison"] = {
                    k: comp.get(k) for k in ("diff", "ci_low", "ci_high", "mcnemar_p", "significant")
                }
            benches[bench] = row
        found.append(
            {
                "eval": path.parent.name,
                "model": name,
                "base": base,
                "note": res.get("note"),
                "benchmarks": benches,
            }
        )
    return found


def _headline(r: dict[str, Any]) -> dict[str, Any]:
    ex = r.get("extractions") or {}
    if not ex:
        return {}
    first = next(iter(ex))
    acc = ex[first].get("accuracy") or {}
    return {"extraction": first, "accuracy": acc.get("value"), "se": acc.get("se"), "n": acc.get("n")}


def _eval_lines(results: list[dict[str, Any]]) -> list[str]:
    lines = ["", "## Evaluation (rft eval)", ""]
    if not results:
        return [*lines, "`rft eval` has no results of this adapter yet."]
    lines += ["| eval | benchmark | adapter accuracy | base accuracy | difference (95% CI) | McNemar p |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for e in results:
        for bench, row in e["benchmarks"].items():
            a, b, c = row.get("adapter") or {}, row.get("base") or {}, row.get("comparison") or {}
            diff = (
                f"{c['diff'] * 100:+.1f} [{c['ci_low'] * 100:+.1f}, {c['ci_high'] * 100:+.1f}]"
                if c.get("diff") is not None
                else "-"
            )
            p = "-" if c.get("mcnemar_p") is None else f"{c['mcnemar_p']:.3g}"
            lines.append(f"| {e['eval']} | {bench} | {_pct(a)} | {_pct(b)} | {diff} | {p} |")
    note = results[0].get("note")
    return [*lines, "", *([_md_cell(note, 400)] if note else []), "", f"All of it: `{EVAL_RESULTS}`."]


def _pct(h: dict[str, Any]) -> str:
    if h.get("accuracy") is None:
        return "-"
    se = f" ± {h['se'] * 100:.1f}" if h.get("se") is not None else ""
    return f"{h['accuracy'] * 100:.1f}{se}"


def split_card(text: str) -> tuple[dict[str, Any], str]:
    """(YAML header, body) of a card; an empty header when it has none."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            header = yaml.safe_load(text[4:end]) or {}
            return (header if isinstance(header, dict) else {}), text[end + 5 :]
    return {}, text


def adapter_card(
    folder: Path,
    manifest: dict[str, Any],
    *,
    repo_id: str,
    tag: str,
    license: str | None,
    dataset: dict[str, Any] | None,
    results: list[dict[str, Any]],
) -> str:
    from rft.train.report import ALIAS_HUB_IDS

    try:
        own = (folder / README).read_text(encoding="utf-8")
    except OSError:
        own = ""
    header, body = split_card(own)
    base = manifest.get("base") or {}
    base_model = (
        header.get("base_model")
        or ALIAS_HUB_IDS.get(base.get("spec", ""))
        or (base.get("spec") if base.get("revision") else None)
    )
    header = {
        **({"base_model": base_model} if base_model else {}),
        **({"datasets": [dataset["repo_id"]]} if dataset else {}),
        **({"license": license} if license else {}),
        "library_name": header.get("library_name", "peft"),
        "pipeline_tag": "text-generation",
        "tags": list(dict.fromkeys([*(header.get("tags") or []), "rft", "lora", "peft"])),
        **{
            k: v
            for k, v in header.items()
            if k not in ("base_model", "datasets", "license", "library_name", "tags")
        },
    }
    ds = manifest.get("dataset") or {}
    if dataset:
        trained = (
            f"Trained on the Hub dataset [{dataset['repo_id']}](https://huggingface.co/datasets/{dataset['repo_id']}) "
            f"at revision `{dataset['tag']}` ({ds.get('ref')}, data.jsonl sha256 `{str(ds.get('data_sha256'))[:16]}`): "
            f'`load_dataset("{dataset["repo_id"]}", "solved_correct", revision="{dataset["tag"]}")`.'
        )
    else:
        trained = (
            f"Trained on {ds.get('ref')} (data.jsonl sha256 `{str(ds.get('data_sha256'))[:16]}`), a dataset "
            "version that has not been published from this store: `rft publish "
            f"{ds.get('ref')} --repo-id OWNER/NAME` before this adapter links it."
        )
    body = body.replace('"<this folder>"', f'"{repo_id}", revision="{tag}"')
    body = (
        body.rstrip()
        + "\n"
        + "\n".join(
            [
                "",
                "## Training data",
                "",
                trained,
                *_eval_lines(results),
                "",
                "## Provenance",
                "",
                f"Published with rft {rft.__version__} from the run variant `{manifest.get('variant')}` "
                f"(identity `{manifest.get('identity')}`) under the tag `{tag}`; `manifest.json` is the run's manifest "
                "(dataset and its sha256, base model and its sha256, resolved config, libraries, command), "
                "`metrics.json` its metrics and `rft_publish.json` names what was published.",
            ]  # fmt: skip
        )
    )
    return "---\n" + yaml.safe_dump(header, sort_keys=False).rstrip() + "\n---\n\n" + body.lstrip("\n") + "\n"


def build_adapter(
    folder: Path,
    out: Path,
    *,
    store: Store,
    evals: Path,
    repo_id: str,
    license: str | None,
) -> Bundle:
    """Write the upload folder of the run variant `folder` into `out` (a new, empty folder)."""
    manifest = read_variant(folder)
    tag = str(manifest.get("variant") or folder.name)
    notes = []
    for p in sorted(folder.iterdir()):
        if p.is_dir():
            notes.append(f"{p.name}/ is not published (only the adapter's own files are)")
        elif p.name in LEFT_OUT:
            notes.append(f"{p.name} is not published (a pickle the adapter does not need)")
        elif p.name != README and not p.name.startswith("."):
            shutil.copyfile(p, out / p.name)
    ds = manifest.get("dataset") or {}
    dataset = published_dataset(store, str(ds.get("ref", "")), str(ds.get("data_sha256", "")))
    if dataset is None:
        notes.append(
            f"the dataset it was trained on ({ds.get('ref')}) was never published: the card names it by ref"
        )
    results = eval_results(evals, manifest.get("identity"))
    if results:
        (out / EVAL_RESULTS).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    marker = {
        "kind": "adapter",
        "ref": f"{folder.parent.name}/{tag}",
        "identity": manifest.get("identity"),
        "adapter_sha256": sha256_file(weights_of(folder)),
        "dataset": {"ref": ds.get("ref"), "data_sha256": ds.get("data_sha256"),
                    **({"repo_id": dataset["repo_id"], "revision": dataset["tag"]} if dataset else {})},
        "repo_id": repo_id,
        "published_with": f"rft {rft.__version__}",
    }  # fmt: skip
    (out / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    card = adapter_card(
        folder, manifest, repo_id=repo_id, tag=tag, license=license, dataset=dataset, results=results
    )
    (out / README).write_text(card, encoding="utf-8")
    check_folder(out)
    return Bundle(out, "adapter", marker["ref"], tag, marker, notes=notes)
