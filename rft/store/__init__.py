"""Versioned dataset store: runs in progress, sealed immutable versions, manifests, merge, export."""

from rft.store.fsutil import guard_writable
from rft.store.refs import format_ref, parse_ref
from rft.store.run import Run
from rft.store.store import DatasetInfo, LoadedVersion, SealedVersion, Store, read_records

__all__ = [
    "DatasetInfo",
    "LoadedVersion",
    "SealedVersion",
    "Run",
    "Store",
    "format_ref",
    "guard_writable",
    "parse_ref",
    "read_records",
]
