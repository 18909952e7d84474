"""`rft validate NAME[@vN]`: checks, dedup and benchmark decontamination; seals the kept records."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rft.commands.options import config_command, config_option, given, out_option
from rft.config import load_config
from rft.console import err, out
from rft.errors import RftError
from rft.store import Store, parse_ref
from rft.validate.config import C, ValidateConfig, parse_benchmark_paths
from rft.validate.run import check_judge, run


def _interrupted(store: Store, name: str, version: int | None, before: set[int], report_only: bool) -> str:
    """What Ctrl-C left: the source version is never changed; a new version exists only when the
    seal (an atomic rename) finished before the interrupt."""
    try:
        source = f"{name}@v{store.resolve(name, version)[0]}"
    except RftError:
        source = f"{name}@v{version}" if version else name
    new = sorted(set(store.versions(name)) - before)
    if new and not report_only:
        return f"interrupted after sealing {name}@v{new[-1]}; {source} is untouched"
    kept = "no report was written" if report_only else "nothing was sealed"
    return f"interrupted: {kept} and {source} is untouched; re-run the same command to validate it"


@config_command(ValidateConfig, skip=("batch_size", "judge_floor", "top_k"), first=False)
def validate(
    ref: str = typer.Argument(..., metavar="NAME[@vN]", help="dataset version to validate (default: latest)"),
    out_dir: Path = out_option(),
    config: str = config_option(),
    report_only: bool = typer.Option(
        False, "--report-only", help="write only the report, no new version", rich_help_panel=C
    ),
    **flags: Any,
) -> None:
    """Check, deduplicate and decontaminate NAME@vN; seal the kept records as the next version."""
    name, version = parse_ref(ref)
    cfg = load_config(
        ValidateConfig, config, given(ValidateConfig, flags, {"benchmark_paths": parse_benchmark_paths})
    )
    store = Store(out_dir)
    check_judge(cfg)  # before the progress bar starts drawing
    before = set(store.versions(name))
    try:
        with Progress(
            TextColumn("decontaminating"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,  # off a terminal, a stopped bar leaves only a blank line
        ) as bar:
            task = bar.add_task("records", total=None)
            result = run(
                store,
                name,
                version,
                cfg,
                report_only=report_only,
                command=["rft", "validate", *sys.argv[2:]],
                progress=lambda done, total: bar.update(task, completed=done, total=total),
                judge_checked=True,
            )
    except KeyboardInterrupt:
        err.print(_interrupted(store, name, version, before, report_only), markup=False, soft_wrap=True)
        raise typer.Exit(130) from None
    rep = result.report
    out.print(rep.sources_table())
    out.print(rep.table())
    untrainable = rep.untrainable()
    line = rep.untrainable_line()
    if any(c["dropped"] for c in untrainable.values()):
        line += "; --keep-unsolved keeps them"
    out.print(line, markup=False, soft_wrap=True)
    notes: dict[str, list[str]] = {}
    for b, s in rep.sources.items():
        if s.get("note"):
            notes.setdefault(s["note"], []).append(b)
    for note, names in notes.items():
        out.print(f"[dim]{', '.join(names)}: {note}[/]")
    if rep.judge:
        j = rep.judge
        line = (
            f"judge {j['spec']}: asked about {j['asked']} ambiguous pairs: {j['same']} same problem (dropped), "
            f"{j['different']} different, {j['unclear']} unclear (kept as suspects)"
        )
        if j.get("not_asked_no_text"):
            line += f"; {j['not_asked_no_text']} not asked (shipped fingerprints hold no text to show it)"
        out.print(line, markup=False)
    if result.sealed is not None:
        kept = rep.total - len(rep.dropped_ids)
        if result.sealed.reused:  # the same parent validated the same way before (or by a killed run)
            out.print(
                f"already sealed as {result.sealed.ref} (same parent, same settings); nothing new written"
            )
        out.print(f"wrote {result.sealed.ref} ({kept} of {rep.total} records kept) to {result.sealed.path}")
        out.print(f"report: {result.report_path}")
    else:
        out.print(f"report only (no new version): {result.report_path}")
