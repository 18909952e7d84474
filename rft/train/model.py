"""The base model of `rft train`: resolved offline (an alias, a local folder, or a Hub id already in the
Hugging Face cache; nothing is downloaded), its device and dtype chosen at run time, and the
`--target-modules` checked against the modules it has."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.errors import ConfigError, RftError
from rft.train.config import BaseModelConfig

ALL_LINEAR = "all-linear"


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


def resolve_base(cfg: BaseModelConfig) -> BaseModelInfo:
    """The base model's folder: an alias (converted once, `rft.teachers.local_model`), a local folder
    with config.json, or a Hub id found in the local cache. A ConfigError naming --base otherwise."""
    from rft.teachers.local_model import ALIASES, resolve_local_model

    spec = cfg.base
    if spec in ALIASES:
        try:
            path = resolve_local_model(spec)
        except RftError as exc:
            raise ConfigError(f"--base {spec}: {exc}") from exc
        return BaseModelInfo(spec, path, None, folder_sha256(path))
    local = Path(spec).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ConfigError(
                f"--base {spec}: the folder has no config.json (not a transformers model folder)"
            )
        return BaseModelInfo(spec, local.resolve(), None, folder_sha256(local))
    if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
        raise ConfigError(
            f"--base {spec}: no such folder (and not a Hub id or a known alias: {', '.join(ALIASES)})"
        )
    return _from_hub_cache(spec, cfg.revision)


def _from_hub_cache(repo_id: str, revision: str | None) -> BaseModelInfo:
    from huggingface_hub import snapshot_download

    try:
        folder = Path(snapshot_download(repo_id, revision=revision, local_files_only=True))
    except Exception as exc:  # LocalEntryNotFoundError, HFValidationError (a malformed id), ...
        rev = f" at revision {revision}" if revision else ""
        raise ConfigError(
            f"--base {repo_id}: not found offline{rev} (not a local folder, not a known alias, not in the "
            f"Hugging Face cache; download it first, e.g. `hf download {repo_id}`)"
        ) from exc
    if not (folder / "config.json").is_file():
        raise ConfigError(f"--base {repo_id}: the cached snapshot {folder} has no config.json")
    return BaseModelInfo(repo_id, folder, folder.name, None)


def pick(cfg: BaseModelConfig) -> tuple[str, Any]:
    """(device, torch dtype) for this machine: bf16 where the GPU supports it, fp32 on CPU (bf16
    autocast there was measured much slower); --device / --dtype override."""
    from rft.errors import TeacherError
    from rft.teachers.local_model import pick_device, pick_dtype

    try:
        device = pick_device(cfg.device)
        return device, pick_dtype(cfg.dtype, device)
    except TeacherError as exc:
        raise ConfigError(str(exc)) from exc


def load_tokenizer(info: BaseModelInfo) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(info.path, local_files_only=True)
    if not getattr(tok, "chat_template", None):
        raise ConfigError(
            f"--base {info.spec}: the tokenizer has no chat template; rft train needs a chat (instruct) model"
        )
    return tok


def load_model(info: BaseModelInfo, dtype: Any, attention: str | None = None) -> Any:
    """The base model; `attention` names its attention implementation (transformers' default when None)."""
    from transformers import AutoModelForCausalLM

    extra = {"attn_implementation": attention} if attention else {}
    return AutoModelForCausalLM.from_pretrained(info.path, dtype=dtype, local_files_only=True, **extra)


def linear_names(model: Any) -> list[str]:
    """The last names of the model's linear layers (what `--target-modules` may name), lm_head aside."""
    import torch

    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D":
            leaf = name.rsplit(".", 1)[-1]
            if leaf != "lm_head":
                names.add(leaf)
    return sorted(names)


def check_target_modules(model: Any, targets: list[str]) -> str | list[str]:
    """`targets` as PEFT takes them ("all-linear" as a string); a ConfigError listing the module names
    the model has when one of them is not among them."""
    if targets == [ALL_LINEAR]:
        return ALL_LINEAR
    if ALL_LINEAR in targets:
        raise ConfigError(f"--target-modules: {ALL_LINEAR} stands alone (got {','.join(targets)})")
    have = linear_names(model)
    every = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()} | {
        name for name, _ in model.named_modules()
    }
    missing = [t for t in targets if t not in every]
    if missing:
        raise ConfigError(
            f"--target-modules: the model has no module named {', '.join(missing)} "
            f"(its linear layers: {', '.join(have)}; or all-linear)"
        )
    if "lm_head" in targets:
        raise ConfigError(
            "--target-modules: lm_head cannot be adapted (TRL computes the loss from its weight)"
        )
    return list(targets)
