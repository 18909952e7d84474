"""The store's record of where its dataset versions were published (OUT/NAME/reports/publish-vN-
OWNER--NAME.json): written after a push, read by an adapter's publish to link the dataset repository."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rft.publish.hub import Pushed
from rft.publish.layout import Bundle
from rft.store import LoadedVersion, Store

REPORTS = "reports"


def publications(store: Store, name: str) -> list[dict[str, Any]]:
    """The publications of dataset `name` recorded in the store, oldest first."""
    d = store.dataset_dir(name) / REPORTS
    out = []
    for p in sorted(d.glob("publish-v*.json")) if d.is_dir() else []:
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict):
            out.append(data)
    return out


def record_publication(store: Store, lv: LoadedVersion, pushed: Pushed, bundle: Bundle) -> Path:
    data = {
        **{k: bundle.marker[k] for k in ("ref", "manifest_sha256", "data_sha256")},
        "repo_id": pushed.repo_id,
        "tag": pushed.tag,
        "commit": pushed.commit,
        "url": pushed.url,
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    owner, name = pushed.repo_id.split("/", 1)
    return store.write_report(
        lv.name, f"publish-v{lv.version}-{owner}--{name}.json", json.dumps(data, indent=2) + "\n"
    )
