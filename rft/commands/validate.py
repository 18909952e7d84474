"""`rft validate NAME[@vN]`: checks, dedup and benchmark decontamination; seals the kept records."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rft.console import err, out
from rft.errors import ConfigError, RftError
from rft.store import Store, parse_ref
from rft.validate.benchmarks import BENCHMARKS, parse_benchmarks
from rft.validate.decontam import METHODS
from rft.validate.judge import check_judge
from rft.validate.nearest import SUSPECT
from rft.validate.run import ValidateConfig, run
from rft.validate.semantic import THRESHOLD

B = "Benchmarks"
C = "Checks"


def _paths(specs: list[str] | None) -> dict[str, Path]:
    paths: dict[str, Path] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name = name.strip().lower()
        if not sep or not path:
            raise ConfigError(f"--benchmark-path: expected NAME=FILE, got {spec!r}")
        if name not in BENCHMARKS:
            raise ConfigError(
                f"--benchmark-path: unknown benchmark {name!r} (choose from {', '.join(BENCHMARKS)})"
            )
        paths[name] = Path(path)
    return paths


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


def validate(
    ref: str = typer.Argument(..., metavar="NAME[@vN]", help="dataset version to validate (default: latest)"),
    out_dir: Path = typer.Option(Path("datasets_out"), "--out", help="root folder of the dataset store"),
    benchmarks: str = typer.Option(
        "all",
        "--benchmarks",
        help=f"comma-separated: {','.join(BENCHMARKS)} (default all)",
        rich_help_panel=B,
    ),
    benchmark_dir: Path = typer.Option(
        None,
        "--benchmark-dir",
        help="folder with the layout of ../shared/benchmarks (instead of the Hub)",
        rich_help_panel=B,
    ),
    benchmark_path: list[str] = typer.Option(
        None, "--benchmark-path", help="NAME=FILE for one benchmark (repeatable)", rich_help_panel=B
    ),
    no_hub: bool = typer.Option(
        False, "--no-hub", help="never try the Hub: use the shipped fingerprints", rich_help_panel=B
    ),
    method: str = typer.Option(
        "containment", "--method", help=f"lexical rule: {' | '.join(METHODS)}", rich_help_panel=B
    ),
    threshold: float = typer.Option(
        None,
        "--threshold",
        help="containment share that flags (default 0.35; ngram13/ngram8: any shared n-gram unless given)",
        rich_help_panel=B,
    ),
    semantic: bool = typer.Option(
        False, "--semantic", help="also compare questions by embedding (all-MiniLM-L6-v2)", rich_help_panel=B
    ),
    semantic_threshold: float = typer.Option(
        THRESHOLD, "--semantic-threshold", help="cosine that flags", rich_help_panel=B
    ),
    suspect_threshold: float = typer.Option(
        SUSPECT, "--suspect-threshold", help="cosine where the ambiguous band starts", rich_help_panel=B
    ),
    judge: str = typer.Option(
        None,
        "--judge",
        help="teacher SPEC that judges the ambiguous band (e.g. openai:gpt-4o-mini)",
        rich_help_panel=B,
    ),
    judge_base_url: str = typer.Option(
        None,
        "--judge-base-url",
        help="endpoint of the judge (an OpenAI-compatible server such as vLLM or Ollama)",
        rich_help_panel=B,
    ),
    judge_api_key_env: str = typer.Option(
        None, "--judge-api-key-env", help="NAME of the env var with the judge's API key", rich_help_panel=B
    ),
    dedup_threshold: float = typer.Option(
        0.8, "--dedup-threshold", help="Jaccard of question shingles for near-duplicates", rich_help_panel=C
    ),
    workers: int = typer.Option(
        None,
        "--workers",
        help="processes for the lexical stage (default: 2 from 20,000 records on)",
        rich_help_panel=C,
    ),
    report_only: bool = typer.Option(
        False, "--report-only", help="write only the report, no new version", rich_help_panel=C
    ),
    keep_unsolved: bool = typer.Option(
        False,
        "--keep-unsolved",
        help="keep untrainable records (unsolved, incorrect against gold, gold not checked): their trees"
        " still give stepwise labels; dropped by default",
        rich_help_panel=C,
    ),
) -> None:
    """Check, deduplicate and decontaminate NAME@vN; seal the kept records as the next version."""
    name, version = parse_ref(ref)
    cfg = ValidateConfig(
        benchmarks=parse_benchmarks(benchmarks),
        method=method.strip().lower(),
        threshold=threshold,
        benchmark_dir=benchmark_dir,
        benchmark_paths=_paths(benchmark_path),
        semantic=semantic,
        semantic_threshold=semantic_threshold,
        suspect_threshold=suspect_threshold,
        judge=judge,
        judge_base_url=judge_base_url,
        judge_api_key_env=judge_api_key_env,
        dedup_threshold=dedup_threshold,
        hub=not no_hub,
        workers=workers,
        keep_unsolved=keep_unsolved,
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
