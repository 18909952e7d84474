"""`rft problems ...`: preview a problem source after mapping; list the presets."""

from __future__ import annotations

from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from rft.commands.options import config_command, config_option, given
from rft.config import load_config
from rft.console import err, out
from rft.errors import ConfigError
from rft.problems import PRESETS, load_problems, parse_source
from rft.problems.config import PreviewConfig
from rft.problems.testsplits import known_test_split

app = typer.Typer(
    help="Problem sources: preview files, Hub datasets and the demo; list presets.", no_args_is_help=True
)


def _short(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_fields(items: list[str] | None) -> dict[str, str]:
    """Repeated `--field key=column` -> {key: column}; bad items are a ConfigError naming --field."""
    fields: dict[str, str] = {}
    for item in items or []:
        key, sep, col = item.partition("=")
        if not sep or not key.strip() or not col.strip():
            raise ConfigError(f"--field: expected problem_field=column (e.g. question=problem), got {item!r}")
        fields[key.strip()] = col.strip()
    return fields


@app.command("preview")
@config_command(PreviewConfig)
def preview(
    source: str = typer.Argument(
        ...,
        help="a file (.jsonl .jsonl.gz .json .csv .parquet), hf:owner/name[:config][@split], demo[:size[:seed]], or a preset name",
    ),
    config: str = config_option(),
    **flags: Any,
) -> None:
    """Show the first problems of SOURCE after mapping (order: shuffle -> shard -> limit) and the total count."""
    flags = given(PreviewConfig, flags, {"fields": parse_fields})
    cfg = load_config(PreviewConfig, config, {**flags, "source": {"problems": source}})
    src, limit = cfg.source, cfg.limit
    shard_t = src.shard_tuple()
    problems = load_problems(
        source,
        preset=src.preset,
        fields=src.fields or {},
        shuffle=src.shuffle,
        seed=cfg.seed,
        shard=shard_t,
        on_duplicate_id=src.on_duplicate_id,
        warn=lambda msg: err.print(msg, soft_wrap=True, markup=False),
    )
    test_split = known_test_split(parse_source(source))
    if test_split:
        err.print(test_split.preview_note(), soft_wrap=True, markup=False)
    shown = problems[:limit]
    table = Table(title=Text(f"problems from {source}"), title_justify="left")
    table.add_column("id", max_width=32, overflow="fold")
    table.add_column("domain", no_wrap=True)
    table.add_column("question", ratio=1)
    table.add_column("answer", max_width=30)
    for p in shown:
        if p.answer is not None:
            answer = p.answer
        elif p.tests:
            answer = f"{len(p.tests)} test{'s' if len(p.tests) != 1 else ''}"
        else:
            answer = ""
        # Text cells: questions contain "[...]" (LaTeX \[ \]) that rich would read as markup
        table.add_row(Text(p.id), p.domain.value, Text(_short(p.question, 160)), Text(_short(answer, 40)))
    out.print(table)
    where = f" in shard {shard_t[0]}/{shard_t[1]}" if shard_t else ""
    out.print(f"{len(problems)} problems{where}; showing {len(shown)}")


@app.command("presets")
def presets() -> None:
    """The known presets, their Hub datasets and what they extract."""
    table = Table(title="problem presets", title_justify="left")
    for col in ("preset", "hub source (benchmark test split)", "domain"):
        table.add_column(col, no_wrap=True)
    table.add_column("format")
    for p in PRESETS.values():
        table.add_row(p.name, p.hub_source, p.domain.value, p.description)
    out.print(table)
    sources = Table(title="a preset name as SOURCE reads", title_justify="left")
    for col in ("SOURCE", "hub source"):
        sources.add_column(col, no_wrap=True)
    for p in PRESETS.values():
        sources.add_row(p.name, p.train_source or f"{p.hub_source} (no train split)")
    out.print(sources)
    out.print(
        "use a preset name as SOURCE for its Hub train split (humaneval has only a test split), "
        "or --preset NAME with a local file; `rft generate` refuses test splits without --allow-test-split"
    )
