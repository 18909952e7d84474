"""Dataset references (`name`, `name@v3`) and the names the store accepts."""

from __future__ import annotations

import re

from rft.errors import ConfigError

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
VERSION_DIR_RE = re.compile(r"^v([1-9][0-9]*)$")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESERVED = {"runs", "LATEST"}


def check_name(name: str) -> str:
    """A dataset name: letters, digits, `.`, `_`, `-`; not a reserved folder name, not `vN`."""
    if not NAME_RE.match(name) or name in RESERVED or VERSION_DIR_RE.match(name):
        raise ConfigError(
            f"invalid dataset name {name!r}: use letters, digits, '.', '_' or '-' "
            "(not starting with '.' or '-', not 'runs' or 'vN')"
        )
    return name


def check_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id):
        raise ConfigError(f"invalid run id {run_id!r}: use letters, digits, '.', '_' or '-'")
    return run_id


def parse_ref(ref: str) -> tuple[str, int | None]:
    """`name@v3` -> ("name", 3); `name@3` -> ("name", 3); `name` -> ("name", None)."""
    name, sep, ver = ref.strip().partition("@")
    version: int | None = None
    if sep:
        m = re.fullmatch(r"v?([1-9][0-9]*)", ver)
        if not m:
            raise ConfigError(f"invalid dataset reference {ref!r}: expected NAME or NAME@vN (e.g. demo@v2)")
        version = int(m.group(1))
    return check_name(name), version


def format_ref(name: str, version: int) -> str:
    return f"{name}@v{version}"
