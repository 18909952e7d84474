"""`rft publish NAME[@vN] | runs/<name>/<variant> --repo-id owner/name`: a dataset version, or an
adapter, to the Hugging Face Hub with its provenance card and a version tag."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import err, out
from rft.publish.config import PublishConfig


def _is_run_path(target: str) -> bool:
    """A path to a run variant folder (written as a path, or a folder holding an adapter), not
    NAME[@vN] (a dataset name has no slash)."""
    return "/" in target or "\\" in target or (Path(target) / "adapter_config.json").is_file()


@config_command(PublishConfig)
def publish(
    target: str = typer.Argument(
        ...,
        help="NAME or NAME@vN (a dataset version; default the LATEST), or runs/<name>/<variant> (an adapter)",
    ),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Publish a dataset version (Parquet configs default, solved_correct, path, backtrack, search;
    manifest, validation report and card; tagged vN) or an adapter of `rft train` (a model repo with
    its card, tagged with the variant) to the Hugging Face Hub. --dry-run writes the folder only."""
    from rft.publish.dataset import listing
    from rft.publish.run import publish_adapter, publish_dataset

    cfg = load_config(PublishConfig, config, given(PublishConfig, flags))
    if _is_run_path(target):
        done = publish_adapter(cfg, Path(target))
    else:
        done = publish_dataset(cfg, target)
    b = done.bundle
    for note in b.notes:
        err.print(f"note: {note}", markup=False, soft_wrap=True)
    if b.rows:
        out.print(
            "configs: " + ", ".join(f"{c} {n}" for c, n in b.rows.items()), markup=False, soft_wrap=True
        )
    if done.folder is not None:
        files = listing(done.folder)
        out.print(
            f"dry run: {b.kind} {b.ref} would be published to {cfg.repo_id} as {len(files)} files, tagged {b.tag}; "
            "nothing was uploaded",
            markup=False,
            soft_wrap=True,
        )
        for name, size, sha in files:
            out.print(f"  {name}  {size:,} bytes  sha256 {sha}", markup=False, soft_wrap=True)
        out.print(f"wrote {done.folder}", markup=False, soft_wrap=True)
        return
    p = done.pushed
    assert p is not None
    if p.noop:
        out.print(
            f"{b.ref} is already published to {p.repo_id} under the tag {p.tag} (same checksums); nothing was "
            "uploaded",
            markup=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"published {b.kind} {b.ref} to {p.repo_id} (commit {str(p.commit)[:12]}), tagged {p.tag}",
            markup=False,
            soft_wrap=True,
        )
    out.print(p.url, markup=False, soft_wrap=True)
    if done.record is not None:
        out.print(f"recorded in {done.record}", markup=False, soft_wrap=True)
