"""The folder a dataset version is published as: one Parquet file per config (the records as
`rft.store.hf.to_hf_dataset` lays them out: `messages` first-class, the full record with its `trace`
in `record`), the sealed `manifest.json` and validation report beside them, the provenance marker
`rft_publish.json` and the card (README.md, whose YAML `configs:` block lets `load_dataset(repo,
config)` find each config's files).

    README.md  manifest.json  validation_report.json  rft_publish.json
    data/default/train-00000-of-00001.parquet         every record, `messages` as stored
    data/solved_correct/train-...parquet              the trainable records (what `rft train` uses)
    data/path/ data/backtrack/ data/search/           the trainable records re-rendered from their traces
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import rft
from rft.errors import ConfigError, InputError, write_error
from rft.publish.card import dataset_card
from rft.publish.layout import MARKER, README, RENDER_CONFIGS, Bundle, data_file
from rft.publish.licenses import resolve_license, sources_of
from rft.publish.scan import check_folder, check_records
from rft.schemas import Record
from rft.schemas.record import untrainable_reason
from rft.store import LoadedVersion, Store
from rft.store.fsutil import MANIFEST, sha256_file


def config_records(records: list[Record], seed: int = 0) -> dict[str, list[Record]]:
    """The records of each config, in the version's order."""
    from rft.store.export import prepare

    trainable = [r for r in records if untrainable_reason(r) is None]
    out = {"default": records, "solved_correct": trainable}
    for style in RENDER_CONFIGS:
        out[style] = prepare(trainable, render_style=style, seed=seed).records
    return out


def marker_of(lv: LoadedVersion, repo_id: str) -> dict[str, Any]:
    """What `rft_publish.json` says: which sealed version this is, by its checksums (the no-op check
    of a re-publish compares these)."""
    m = lv.manifest
    return {
        "kind": "dataset",
        "ref": lv.ref,
        "name": lv.name,
        "version": f"v{lv.version}",
        "repo_id": repo_id,
        "manifest_sha256": m.manifest_sha256,
        "data_sha256": m.files["data.jsonl"].sha256,
        "published_with": f"rft {rft.__version__}",
    }


def default_folder(store: Store, lv: LoadedVersion) -> Path:
    return store.dataset_dir(lv.name) / "publish" / f"v{lv.version}"


def check_dataset(lv: LoadedVersion, *, license: str | None, allow_unvalidated: bool) -> tuple[list, str]:
    """The refusals, before anything is written: a version that never went through `rft validate`
    (unless `allow_unvalidated`), a license that cannot be told, a record holding something that looks
    like a key. Returns the problem sources and the license."""
    if not lv.manifest.is_validated and not allow_unvalidated:
        raise ConfigError(
            f"{lv.ref} never went through `rft validate`: validate it first (rft validate {lv.ref}) or "
            "pass --allow-unvalidated (the card then says so in its first paragraph)"
        )
    check_records(lv.records, lv.ref)
    sources = sources_of(lv.records)
    return sources, resolve_license(sources, license)


def build_dataset(
    store: Store,
    lv: LoadedVersion,
    folder: Path,
    *,
    repo_id: str,
    license: str | None,
    allow_unvalidated: bool,
) -> Bundle:
    """Write the upload folder of `lv` into `folder` (a new, empty folder), after `check_dataset`."""
    sources, lic = check_dataset(lv, license=license, allow_unvalidated=allow_unvalidated)
    per = config_records(lv.records)
    rows = {name: len(recs) for name, recs in per.items()}
    _write_parquet(per, folder)
    shutil.copyfile(lv.path / MANIFEST, folder / MANIFEST)
    for fname in lv.manifest.files:
        if fname not in ("data.jsonl", README):  # the validation report, and any other file sealed beside
            shutil.copyfile(lv.path / fname, folder / fname)
    marker = marker_of(lv, repo_id)
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    card = dataset_card(store, lv, repo_id=repo_id, license=lic, sources=sources, rows=rows)
    (folder / README).write_text(card, encoding="utf-8")
    check_folder(folder)
    notes = [f"config {c} has no records and is left out" for c, n in rows.items() if n == 0]
    return Bundle(folder, "dataset", lv.ref, f"v{lv.version}", marker, rows, notes)


def dataset_card_of(store: Store, lv: LoadedVersion, *, repo_id: str | None, license: str | None) -> str:
    """The card `build_dataset` writes for `lv` (`rft datasets card`): a license that cannot be told
    is "unknown" here instead of an error."""
    sources = sources_of(lv.records)
    lic = resolve_license(sources, license, required=False)
    rows = {name: len(recs) for name, recs in config_records(lv.records).items()}
    return dataset_card(store, lv, repo_id=repo_id, license=lic, sources=sources, rows=rows)


def _write_parquet(per: dict[str, list[Record]], folder: Path) -> None:
    from datasets.utils.tqdm import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars

    from rft.store.hf import to_hf_dataset

    bars = not are_progress_bars_disabled()
    if bars:
        disable_progress_bars()
    try:
        for name, recs in per.items():
            if not recs:
                continue
            path = folder / data_file(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            to_hf_dataset(recs).to_parquet(str(path))
    finally:
        if bars:
            enable_progress_bars()


# --- the folder on disk ------------------------------------------------------------------------------
@contextlib.contextmanager
def staging(parent: Path | None = None):
    """A fresh empty folder (under `parent`, else the system temp dir), removed afterwards unless kept."""
    made = parent is not None and not parent.exists()
    try:
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".rft-publish-", dir=parent))
    except OSError as exc:
        raise write_error(exc, parent or tempfile.gettempdir(), "nothing was written") from exc
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if made:
            with contextlib.suppress(OSError):
                parent.rmdir()  # type: ignore[union-attr]  # only when nothing was placed in it


def place(tmp: Path, folder: Path) -> Path:
    """Move the finished folder `tmp` to `folder`, replacing a folder an earlier dry run wrote (never
    any other folder with files in it)."""
    if folder.exists():
        if not folder.is_dir():
            raise InputError(f"--folder {folder}: is a file")
        if any(folder.iterdir()) and not (folder / MARKER).is_file():
            raise InputError(
                f"--folder {folder}: not empty and not a folder `rft publish --dry-run` wrote; give another"
            )
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, folder)
    return folder


def listing(folder: Path) -> list[tuple[str, int, str]]:
    """(relative path, bytes, sha256[:12]) of every file of `folder`, sorted."""
    out = []
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out.append((p.relative_to(folder).as_posix(), p.stat().st_size, sha256_file(p)[:12]))
    return out
