"""`rft publish`: a dataset version (NAME[@vN]) or an adapter (a run variant folder) to the Hub.

Everything that can refuse does so before the first Hub call: the repository id, the token, the
version's checksums, `rft validate` (or --allow-unvalidated), the license, anything in a record or a
file that looks like a key. Then the folder is built (with --dry-run: in place, its path printed) and
pushed (rft.publish.hub). A published dataset version is recorded in OUT/NAME/reports/, where an
adapter trained on it finds the repository and tag for its card."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rft.errors import ConfigError
from rft.publish.adapter import build_adapter, read_variant
from rft.publish.config import PublishConfig
from rft.publish.dataset import build_dataset, check_dataset, default_folder, place, staging
from rft.publish.hub import Pushed, push
from rft.publish.layout import Bundle
from rft.publish.ledger import record_publication
from rft.redaction import register_key_env, register_secret, register_url_secrets
from rft.store import Store


@dataclass
class Published:
    bundle: Bundle
    folder: Path | None = None  # --dry-run: where the folder was written
    pushed: Pushed | None = None
    record: Path | None = None  # where the publication was recorded in the store


def token_of(cfg: PublishConfig) -> str:
    """The Hub token from the variable --token-env names (registered as a secret: scrubbed from
    everything written or printed); a ConfigError naming the variable when it is not set."""
    register_key_env(cfg.token_env)
    value = os.environ.get(cfg.token_env, "").strip()
    if not value:
        raise ConfigError(
            f"no Hub token: ${cfg.token_env} is not set (set it to a write token, or name another variable "
            "with --token-env); nothing was published"
        )
    register_secret(value)
    return value


def _prepare(cfg: PublishConfig) -> str | None:
    """The checks of the options, the token (None for a dry run, which needs none)."""
    cfg.check()
    register_key_env(cfg.token_env)  # its value is a secret, whether or not this run uploads
    register_url_secrets(cfg.endpoint)
    return None if cfg.dry_run else token_of(cfg)


def publish_dataset(cfg: PublishConfig, ref: str) -> Published:
    token = _prepare(cfg)
    store = Store(cfg.out)
    lv = store.load_ref(ref)  # checksums verified: a changed file is a ChecksumError, nothing is built
    check_dataset(lv, license=cfg.license, allow_unvalidated=cfg.allow_unvalidated)
    target = (cfg.folder or default_folder(store, lv)) if cfg.dry_run else None
    with staging(target.parent if target else None) as tmp:
        bundle = build_dataset(
            store, lv, tmp, repo_id=cfg.repo_id, license=cfg.license, allow_unvalidated=cfg.allow_unvalidated
        )
        if target is not None:
            bundle.folder = place(tmp, target)
            return Published(bundle, folder=bundle.folder)
        pushed = push(
            bundle, repo_id=cfg.repo_id, repo_type="dataset", token=token or "", token_env=cfg.token_env,
            private=cfg.private, endpoint=cfg.endpoint,
        )  # fmt: skip
    return Published(bundle, pushed=pushed, record=record_publication(store, lv, pushed, bundle))


def publish_adapter(cfg: PublishConfig, folder: Path) -> Published:
    token = _prepare(cfg)
    manifest = read_variant(folder)
    variant = str(manifest.get("variant") or folder.name)
    target = (cfg.folder or folder.parent / "publish" / variant) if cfg.dry_run else None
    with staging(target.parent if target else None) as tmp:
        bundle = build_adapter(
            folder, tmp, store=Store(cfg.out), evals=cfg.evals, repo_id=cfg.repo_id, license=cfg.license
        )
        if target is not None:
            bundle.folder = place(tmp, target)
            return Published(bundle, folder=bundle.folder)
        pushed = push(
            bundle, repo_id=cfg.repo_id, repo_type="model", token=token or "", token_env=cfg.token_env,
            private=cfg.private, endpoint=cfg.endpoint,
        )  # fmt: skip
    return Published(bundle, pushed=pushed)
