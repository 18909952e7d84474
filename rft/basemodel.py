"""The base model a stage puts adapters on (`rft train --base`, `rft eval --model`): one definition of
its options beside the spec (--revision, --device, --dtype: the same help and checks under either flag
name), its resolution offline (an alias converted once, a local folder, or a Hub id already in the
Hugging Face cache; nothing is downloaded), and the device and dtype chosen at run time."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from rft.errors import ConfigError, RftError

DTYPES = ("float32", "bfloat16", "float16")


# --- the options ---------------------------------------------------------------------------------


def spec_field(**extra: Any) -> Any:
    return Field(
        default="smollm2-135m",
        description="base model: an alias (smollm2-135m), a local folder, or a Hub id already in the HF cache",
        **extra,
    )


def revision_field(flag: str, **extra: Any) -> Any:
    return Field(default=None, description=f"Hub revision of {flag} (branch, tag or commit)", **extra)


def device_field(**extra: Any) -> Any:
    return Field(default=None, description="cpu, cuda, cuda:N, mps or auto (default: auto)", **extra)


def dtype_field(**extra: Any) -> Any:
    return Field(
        default=None,
        description="float32 | bfloat16 | float16 (default: bfloat16 where the GPU supports it, float32 on CPU)",
        **extra,
    )


def runtime_problem(device: str | None, dtype: str | None) -> str | None:
    """What is wrong with --device / --dtype (a pure string check, before any work), else None."""
    from rft.teachers.local_model import device_problem

    if problem := device_problem(device):
        return f"--device {problem}"
    if dtype not in (None, "auto", *DTYPES):
        return f"--dtype {dtype!r}: use {', '.join(DTYPES[:-1])} or {DTYPES[-1]}"
    return None


# --- resolution ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BaseModelInfo:
    """Where the base model's files are and which version they are."""

    spec: str
    path: Path
    revision: str | None  # the Hub commit of a cached snapshot
    sha256: str | None  # of a local folder's files (names and contents)

    @property
    def hash(self) -> str | None:
        return self.revision or self.sha256

    def manifest(self) -> dict[str, Any]:
        return {"spec": self.spec, "path": str(self.path), "revision": self.revision, "sha256": self.sha256}


def _model_files(path: Path) -> list[Path]:
    return sorted(
        p for p in path.rglob("*") if p.is_file() and not p.relative_to(path).as_posix().startswith(".")
    )


def folder_sha256(path: Path) -> str:
    """sha256 over the relative names and contents of the files in a model folder (sorted). Reading a
    7B model takes a while: the digest is cached under the rft cache, keyed by the folder and every
    file's size and mtime, so it is computed again only when a file changed."""
    from rft.teachers.local_model import cache_root

    files = _model_files(path)
    stats = [(f.relative_to(path).as_posix(), f.stat().st_size, f.stat().st_mtime_ns) for f in files]
    key = hashlib.sha256(json.dumps([str(path.resolve()), stats]).encode()).hexdigest()
    cache = cache_root() / "model-hashes" / f"{key}.sha256"
    with contextlib.suppress(OSError):
        cached = cache.read_text().strip()
        if len(cached) == 64:
            return cached
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(path).as_posix().encode() + b"\0")
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    digest = h.hexdigest()
    with contextlib.suppress(OSError):  # a read-only cache only costs the next run the hashing
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}")
        tmp.write_text(digest + "\n")
        tmp.replace(cache)
    return digest


def resolve(spec: str, revision: str | None = None, flag: str = "--base") -> BaseModelInfo:
    """The base model's folder: an alias (converted once, `rft.teachers.local_model`), a local folder
    with config.json, or a Hub id found in the local cache. A ConfigError naming `flag` otherwise."""
    from rft.teachers.local_model import ALIASES, resolve_local_model

    if spec in ALIASES:
        try:
            path = resolve_local_model(spec)
        except RftError as exc:
            raise ConfigError(f"{flag} {spec}: {exc}") from exc
        return BaseModelInfo(spec, path, None, folder_sha256(path))
    local = Path(spec).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ConfigError(
                f"{flag} {spec}: the folder has no config.json (not a transformers model folder)"
            )
        return BaseModelInfo(spec, local.resolve(), None, folder_sha256(local))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ConfigError(
            f"{flag} {spec}: no such folder (and not a Hub id or a known alias: {', '.join(ALIASES)})"
        )
    return _from_hub_cache(spec, revision, flag)


def _from_hub_cache(repo_id: str, revision: str | None, flag: str) -> BaseModelInfo:
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError (a malformed id), ...
        rev = f" at revision {revision}" if revision else ""
        raise ConfigError(
            f"{flag} {repo_id}: not found offline{rev} (not a local folder, not a known alias, not in the "
            f"Hugging Face cache; download it first, e.g. `hf download {repo_id}`)"
        ) from exc
    if not (folder / "config.json").is_file():
        raise ConfigError(f"{flag} {repo_id}: the cached snapshot {folder} has no config.json")
    return BaseModelInfo(repo_id, folder, folder.name, None)


def device_and_dtype(device: str | None, dtype: str | None) -> tuple[str, Any]:
    """(device, torch dtype) for this machine: bf16 where the GPU supports it, fp32 on CPU (bf16
    autocast there was measured much slower); --device / --dtype override."""
    from rft.errors import TeacherError
    from rft.teachers.local_model import pick_device, pick_dtype

    try:
        chosen = pick_device(device)
        return chosen, pick_dtype(dtype, chosen)
    except TeacherError as exc:
        raise ConfigError(str(exc)) from exc
