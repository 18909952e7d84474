"""Durable file operations: fsync, atomic replace, checksums, the read-only guard."""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from pathlib import Path

from rft.errors import SealedVersionError
from rft.store.refs import VERSION_DIR_RE

MANIFEST = "manifest.json"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb") as fh:
        os.fsync(fh.fileno())


def write_durable(path: Path, data: bytes) -> None:
    """Write `data` to a new file and fsync it (the folder is fsynced by the caller)."""
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def replace_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write_durable(tmp, data)
        os.replace(tmp, path)
    except OSError as exc:  # e.g. a full disk: `path` keeps its old content, no temp file is left
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    fsync_dir(path.parent)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_read_only(path: Path) -> None:
    mode = path.stat().st_mode
    path.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def sealed_version_of(path: Path | str) -> Path | None:
    """The sealed version folder (`.../<name>/vN` holding a manifest) that contains `path`, if any."""
    p = Path(path).absolute()
    for candidate in (p, *p.parents):
        if VERSION_DIR_RE.match(candidate.name) and (candidate / MANIFEST).is_file():
            return candidate
    return None


def guard_writable(path: Path | str) -> Path:
    """Raise SealedVersionError if `path` lies inside a sealed version folder; return it otherwise."""
    sealed = sealed_version_of(path)
    if sealed is not None:
        raise SealedVersionError(
            f"{path}: inside sealed version {sealed.parent.name}@{sealed.name}, which is read-only; "
            "write a new version instead"
        )
    return Path(path)
