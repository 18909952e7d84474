"""`rft datasets ...`: list, show (manifest, rows, a record's trace tree), merge and export versions."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from rft.console import err, out
from rft.errors import ConfigError, RftError
from rft.store import LoadedVersion, Store, parse_ref
from rft.store.formats import EXPORT_FORMATS, FILE_TYPES, LEGACY_FORMATS
from rft.store.refs import check_name

app = typer.Typer(help="Versioned datasets: list, inspect, merge, export.", no_args_is_help=True)

OUT_HELP = "root folder of the dataset store"


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return iso


@app.command("list")
def list_(out_dir: Path = typer.Option(Path("datasets_out"), "--out", help=OUT_HELP)) -> None:
    """Every dataset with its versions, the latest one, its record count and creation time. A dataset
    that cannot be read (a garbage LATEST, a bad manifest) is listed as broken, with the reason."""
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
def runs(
    name: str | None = typer.Argument(None, help="only this dataset's runs"),
    out_dir: Path = typer.Option(Path("datasets_out"), "--out", help=OUT_HELP),
) -> None:
    """Runs (finished or in progress) with their finished-record counts; resume one by its id."""
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
def show(
    ref: str = typer.Argument(..., help="NAME or NAME@vN (default: the LATEST version)"),
    record: str | None = typer.Option(None, "--record", "-r", help="show this problem id's trace as a tree"),
    rows: int = typer.Option(5, "--rows", min=0, help="how many records to list"),
    events: bool = typer.Option(
        False, "--events", help="with --record: also list the search events in order"
    ),
    render: str | None = typer.Option(
        None,
        "--render",
        help="with --record: also print its messages rendered as path | backtrack | search | think "
        "(from the trace; no teacher is called)",
    ),
    out_dir: Path = typer.Option(Path("datasets_out"), "--out", help=OUT_HELP),
) -> None:
    """Manifest summary, files and first rows of a version; or, with --record, one trace as a tree."""
    from rft.commands.trace_tree import render_record

    if render is not None and record is None:
        raise ConfigError("--render needs --record ID")
    lv = Store(out_dir).load_ref(ref)
    if record is not None:
        rec = lv.record(record)
        out.print(Text(f"{lv.ref}  record {record}", style="bold"))
        out.print(render_record(rec, events=events))
        if render is not None:
            from rft.generate.render import render as render_messages

            for m in render_messages(rec, render):
                out.print(Text(f"\n[{m.role}]", style="bold"))
                out.print(Text(m.content))
        return
    out.print(Text(lv.ref, style="bold"))
    out.print(_summary(lv))
    out.print(_files(lv))
    if rows:
        out.print(_rows(lv, rows))


@app.command("merge")
def merge(
    out_name: str = typer.Argument(..., help="name of the merged dataset (gets its next version)"),
    refs: list[str] = typer.Argument(..., help="versions to merge, e.g. demo-shard0@v1 demo-shard1@v1"),
    allow_unvalidated: bool = typer.Option(
        False,
        "--allow-unvalidated",
        help="let unvalidated data become the LATEST of a dataset whose LATEST is validated",
    ),
    out_dir: Path = typer.Option(Path("datasets_out"), "--out", help=OUT_HELP),
) -> None:
    """Merge versions (e.g. shards) into one new version; the same problem never appears twice. The
    merge is validated when every version merged is."""
    sealed = Store(out_dir).merge(out_name, refs, allow_unvalidated=allow_unvalidated)
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
def export(
    ref: str = typer.Argument(..., help="NAME or NAME@vN"),
    fmt: str = typer.Option(
        "messages",
        "--format",
        "-f",
        help=f"columns: {' | '.join(EXPORT_FORMATS)} (file type from the --output suffix:"
        f" {', '.join(FILE_TYPES)}); {' | '.join(LEGACY_FORMATS)}: messages in that file type",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="file to write (.jsonl, .json or .parquet)"),
    trainable_only: bool = typer.Option(
        False, "--trainable-only", help="only records that are solved and, where gold exists, correct"
    ),
    render_style: str = typer.Option(
        None, "--render", help="re-render every record's messages from its trace in this style first"
    ),
    system: str = typer.Option(None, "--system", help="a system message at the start of every conversation"),
    out_dir: Path = typer.Option(Path("datasets_out"), "--out", help=OUT_HELP),
) -> None:
    """Export a version's TRL-ready columns via `datasets`: chat messages (with the full record),
    prompt/completion, or stepwise (process-supervision) rows."""
    from rft.store.export import prepare
    from rft.store.hf import resolve_format
    from rft.validate.report import UNTRAINABLE

    columns, _ = resolve_format(fmt, output)
    if columns == "stepwise" and (render_style is not None or system is not None):
        raise ConfigError("--render and --system shape chat messages; --format stepwise has none")
    parse_ref(ref)
    store = Store(out_dir)
    store.guard_writable(output)
    lv = store.load_ref(ref)
    sel = prepare(lv.records, trainable_only=trainable_only, render_style=render_style, system=system)
    if trainable_only:
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
