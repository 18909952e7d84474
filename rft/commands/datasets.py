"""`rft datasets ...`: list, show (manifest, rows, a record's trace tree), merge, export versions, and
print the Hub card of one (`card`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from rft.commands.options import config_command, config_option, given
from rft.config import config_beside, load_config
from rft.console import err, out
from rft.errors import ConfigError, RftError
from rft.publish.config import CardConfig, check_repo_id
from rft.store import LoadedVersion, Store, parse_ref
from rft.store.config import ExportConfig, MergeConfig, ShowConfig, StoreConfig, write_config_beside
from rft.store.formats import LEGACY_FORMATS
from rft.store.refs import check_name

app = typer.Typer(help="Versioned datasets: list, inspect, merge, export.", no_args_is_help=True)


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


@app.command("list")
@config_command(StoreConfig)
def list_(config: str = config_option(), **flags: Any) -> None:
    """Every dataset with its versions, the latest one, its record count and creation time. A dataset
    that cannot be read (a garbage LATEST, a bad manifest) is listed as broken, with the reason."""
    out_dir = load_config(StoreConfig, config, given(StoreConfig, flags)).out
    store = Store(out_dir)
    infos = store.list_datasets()
    if not infos:
        out.print(f"no datasets under {out_dir}")
        return
    table = Table(title=f"datasets in {out_dir}", title_justify="left")
    for col in ("name", "versions", "latest", "records", "created", "stage", "open runs"):
        table.add_column(col, justify="right" if col in ("records", "open runs") else "left")
    broken: list[tuple[str, str]] = []
    for info in infos:
        try:
            open_runs = str(sum(1 for r in store.runs(info.name) if not r.sealed_as))
        except RftError:
            open_runs = "?"
        try:
            m = store.read_manifest(info.name, info.latest)
        except RftError as exc:  # one broken dataset is marked; the others are still listed
            broken.append((info.name, str(exc)))
            versions = ", ".join(f"v{v}" for v in info.versions)
            table.add_row(info.name, versions, "?", "-", "-", Text("broken", style="bold red"), open_runs)
            continue
        data = m.files.get("data.jsonl")
        records = data.rows if data and data.rows is not None else int(m.counts.get("records", 0))
        table.add_row(
            info.name,
            ", ".join(f"v{v}" for v in info.versions),
            f"v{m.version}",
            str(records),
            _when(m.created_at),
            m.stage,
            open_runs,
        )
    out.print(table)
    for name, reason in broken:
        err.print(f"warning: dataset {name} is broken: {reason}", markup=False, soft_wrap=True)


@app.command("runs")
@config_command(StoreConfig)
def runs(
    name: str | None = typer.Argument(None, help="only this dataset's runs"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Runs (finished or in progress) with their finished-record counts; resume one by its id."""
    out_dir = load_config(StoreConfig, config, given(StoreConfig, flags)).out
    store = Store(out_dir)
    if name is not None:
        names = [check_name(name)]
    elif out_dir.is_dir():
        names = sorted(
            p.name for p in out_dir.iterdir() if (p / "runs").is_dir() and not p.name.startswith(".")
        )
    else:
        names = []
    all_runs = [r for n in names for r in store.runs(n)]
    if not all_runs:
        out.print(f"no runs under {out_dir}" + (f" for {name}" if name else ""))
        return
    table = Table(title=f"runs in {out_dir}", title_justify="left")
    for col in ("dataset", "run id", "created", "records", "sealed as"):
        table.add_column(col, justify="right" if col == "records" else "left", overflow="fold")
    broken: list[tuple[str, str]] = []
    for r in all_runs:
        try:
            row = (_when(r.created_at or "-"), str(len(r.done_ids())), r.sealed_as or "in progress")
        except RftError as exc:  # one damaged run is marked; the others are still listed
            broken.append((r.id, str(exc)))
            row = ("-", "-", "broken")
        table.add_row(r.name, r.id, *row)
    out.print(table)
    for run_id, reason in broken:
        err.print(f"warning: run {run_id} is broken: {reason}", markup=False, soft_wrap=True)


def _summary(lv: LoadedVersion) -> Table:
    m = lv.manifest
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column(style="bold", no_wrap=True)
    t.add_column(overflow="fold")
    lineage = ", ".join(m.parents) if m.parents else (f"{m.name}@v{m.parent}" if m.parent else "-")
    cost = "unknown" if m.cost_usd is None else f"${m.cost_usd:.4f}"
    rows = [
        ("path", str(lv.path)),
        ("stage", m.stage),
        ("parent", lineage),
        (
            "created",
            f"{_when(m.created_at)}  (rft {m.rft_version}"
            + (f", git {m.git_commit[:12]}" if m.git_commit else "")
            + ")",
        ),
        ("command", " ".join(m.command) or "-"),
        ("teacher", m.teacher or "-"),
        ("validator", m.validator or "-"),
        ("counts", "  ".join(f"{k} {v:g}" for k, v in m.counts.items()) or "-"),
        ("tokens", f"{m.tokens_in:,} in / {m.tokens_out:,} out"),
        ("cost", cost),
        ("validated", "yes" if m.is_validated else "no"),
        (
            "manifest",
            "sha256 verified"
            if m.manifest_sha256
            else "unverified (no manifest_sha256: sealed by an older rft; its data files are verified)",
        ),
    ]
    if m.source_fingerprint:
        rows.append(("source", m.source_fingerprint))
    if m.validation:
        rows.append(
            (
                "validation",
                "  ".join(f"{k} {v}" for k, v in m.validation.items() if not isinstance(v, dict | list)),
            )
        )
    for k, v in rows:
        t.add_row(k, Text(v))
    return t


def _files(lv: LoadedVersion) -> Table:
    t = Table(title="files (sha256 verified)", title_justify="left")
    t.add_column("file")
    t.add_column("sha256")
    t.add_column("bytes", justify="right")
    t.add_column("rows", justify="right")
    for name, e in lv.manifest.files.items():
        t.add_row(name, e.sha256[:12], f"{e.bytes:,}", "" if e.rows is None else str(e.rows))
    return t


def _rows(lv: LoadedVersion, n: int) -> Table:
    t = Table(title=f"first {min(n, len(lv.records))} of {len(lv.records)} records", title_justify="left")
    for col in ("id", "question", "gold", "final", "correct", "backtracks", "nodes"):
        t.add_column(col, overflow="fold" if col == "question" else "ellipsis")
    for r in lv.records[:n]:
        correct = "-" if r.outcome.correct is None else ("yes" if r.outcome.correct else "no")
        t.add_row(
            Text(r.id),
            Text(_short(r.problem.question, 70)),
            Text(_short(r.problem.answer, 16) or "-"),
            Text(_short(r.outcome.final_answer, 16) or "-"),
            correct,
            str(r.outcome.backtracks),
            str(len(r.trace.nodes)),
        )
    return t


@app.command("show")
@config_command(ShowConfig)
def show(
    ref: str = typer.Argument(..., help="NAME or NAME@vN (default: the LATEST version)"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Manifest summary, files and first rows of a version; or, with --record, one trace as a tree."""
    from rft.commands.trace_tree import render_record

    cfg = load_config(ShowConfig, config, given(ShowConfig, flags))
    record, rows = cfg.record, cfg.rows
    if cfg.render is not None and record is None:
        raise ConfigError("--render needs --record ID")
    lv = Store(cfg.out).load_ref(ref)
    if record is not None:
        rec = lv.record(record)
        out.print(Text(f"{lv.ref}  record {record}", style="bold"))
        out.print(render_record(rec, events=cfg.events))
        if cfg.render is not None:
            from rft.generate.render import render as render_messages

            for m in render_messages(rec, cfg.render):
                out.print(Text(f"\n[{m.role}]", style="bold"))
                out.print(Text(m.content))
        return
    out.print(Text(lv.ref, style="bold"))
    out.print(_summary(lv))
    out.print(_files(lv))
    if rows:
        out.print(_rows(lv, rows))


@app.command("merge")
@config_command(MergeConfig)
def merge(
    out_name: str = typer.Argument(..., help="name of the merged dataset (gets its next version)"),
    refs: list[str] = typer.Argument(..., help="versions to merge, e.g. demo-shard0@v1 demo-shard1@v1"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Merge versions (e.g. shards) into one new version; the same problem never appears twice. The
    merge is validated when every version merged is. The manifest records the resolved config."""
    cfg = load_config(MergeConfig, config, given(MergeConfig, flags))
    allow_unvalidated = cfg.allow_unvalidated
    sealed = Store(cfg.out).merge(out_name, refs, allow_unvalidated=allow_unvalidated, config=cfg.resolved())
    n = int(sealed.manifest.counts.get("records", 0))
    dropped = int(sealed.manifest.counts.get("duplicates_dropped", 0))
    if sealed.reused:
        out.print(f"already merged as {sealed.ref} (same versions); nothing new written", soft_wrap=True)
    else:
        out.print(
            f"sealed {sealed.ref}: {n} records from {len(refs)} versions ({dropped} identical duplicates dropped)",
            soft_wrap=True,
        )
    out.print(f"wrote {sealed.path}", soft_wrap=True)
    if allow_unvalidated and not sealed.manifest.validated:
        err.print(
            f"warning: {sealed.ref} is not validated and is now the LATEST of {out_name}; "
            f"run `rft validate {sealed.ref}` before training on it",
            markup=False,
            soft_wrap=True,
        )


@app.command("export")
@config_command(ExportConfig)
def export(
    ref: str = typer.Argument(..., help="NAME or NAME@vN"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Export a version's TRL-ready columns via `datasets`: chat messages (with the full record),
    prompt/completion, or stepwise (process-supervision) rows. The resolved config is written beside
    the file (`<output>.config.yaml`; `--config` loads it back)."""
    from rft.store.export import prepare
    from rft.store.hf import resolve_format
    from rft.validate.report import UNTRAINABLE

    cfg = load_config(ExportConfig, config, given(ExportConfig, flags))
    fmt, output, render_style, system = cfg.format, cfg.output, cfg.render, cfg.system
    columns, _ = resolve_format(fmt, output)
    if columns == "stepwise" and (render_style is not None or system is not None):
        raise ConfigError("--render and --system shape chat messages; --format stepwise has none")
    parse_ref(ref)
    store = Store(cfg.out)
    store.guard_writable(output)
    lv = store.load_ref(ref)
    sel = prepare(lv.records, trainable_only=cfg.trainable_only, render_style=render_style, system=system)
    if cfg.trainable_only:
        n = sum(sel.dropped.values())
        why = ", ".join(f"{c} {UNTRAINABLE[r]}" for r, c in sel.dropped.items())
        out.print(
            f"trainable only: kept {len(sel.records)} of {len(lv.records)} records, dropped {n}"
            + (f" ({why})" if why else ""),
            soft_wrap=True,
        )
    done = store.export_records(sel.records, fmt, output)
    if done.no_assistant_text:
        ids = ", ".join(done.no_assistant_text[:5]) + (" ..." if len(done.no_assistant_text) > 5 else "")
        n = len(done.no_assistant_text)
        out.print(f"left out {n} record{'s' * (n != 1)} with no assistant text: {ids}", soft_wrap=True)
    if fmt in LEGACY_FORMATS:
        what = f"{done.rows} records, {fmt}"
    elif columns == "stepwise":
        what = f"{done.rows} stepwise rows from {len(sel.records)} records, {done.file_type}"
    else:
        what = f"{done.rows} records, {columns}, {done.file_type}"
    out.print(f"exported {lv.ref} ({what}) to {done.path}", soft_wrap=True)
    beside = config_beside(done.path)
    saved = write_config_beside(
        cfg,
        done.path,
        [
            f"rft datasets export {lv.ref}: the resolved config (defaults, then --config, then flags)",
            f"again: rft datasets export {lv.ref} --config {beside}",
        ],
    )
    out.print(f"config: {saved}", soft_wrap=True)


@app.command("card")
@config_command(CardConfig)
def card(
    ref: str = typer.Argument(..., help="NAME or NAME@vN"),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Print the Hub dataset card `rft publish` would upload for a version (README.md: YAML metadata,
    provenance, counts, decontamination, lineage, how to load and train), without publishing."""
    from rft.publish.dataset import dataset_card_of

    cfg = load_config(CardConfig, config, given(CardConfig, flags))
    if cfg.repo_id is not None:
        check_repo_id(cfg.repo_id)
    text = dataset_card_of(
        Store(cfg.out), Store(cfg.out).load_ref(ref), repo_id=cfg.repo_id, license=cfg.license
    )
    out.print(text, markup=False, highlight=False, soft_wrap=True, end="")
