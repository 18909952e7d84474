"""The default dataset card (README.md): a Hugging Face YAML header and a summary of the version."""

from __future__ import annotations

import yaml

from rft.schemas import Manifest, RecordCounts

DATA_FILE = "data.jsonl"


def _size_category(n: int) -> str:
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "n>1M"


def _md_cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|")


def card_header(manifest: Manifest, counts: RecordCounts) -> dict:
    """The YAML header of a card: what the Hub reads (name, tags, size, the data files' configs)."""
    return {
        "pretty_name": f"{manifest.name} v{manifest.version}",
        "language": ["en"],
        "tags": ["rft", "reasoning", "synthetic", "chain-of-thought", "backtracking"],
        "task_categories": ["text-generation"],
        "size_categories": [_size_category(counts.records)],
        "configs": [{"config_name": "default", "data_files": [{"split": "train", "path": DATA_FILE}]}],
    }


def summary_rows(manifest: Manifest, counts: RecordCounts) -> list[tuple[str, str]]:
    """The card's summary table: counts, solve rate, backtracks, lineage, models, tokens, cost, provenance."""
    c = counts
    n = c.records
    solved, correct, backtracks, with_backtrack = c.solved, c.correct, c.backtracks, c.with_backtrack
    cost = "unknown" if manifest.cost_usd is None else f"${manifest.cost_usd:.4f}"
    lineage = ", ".join(manifest.parents) or (f"v{manifest.parent}" if manifest.parent else "none")
    rows = [
        ("records", str(n)),
        ("solved", f"{solved} ({solved / n:.1%})" if n else "0"),
        ("correct (vs gold)", f"{correct} ({correct / n:.1%})" if n else "0"),
        ("records with a backtrack", f"{with_backtrack} ({backtracks} backtracks)"),
        ("domains", ", ".join(f"{k}: {v}" for k, v in sorted(c.domains.items())) or "-"),
        ("stage", manifest.stage),
        ("derived from", lineage),
        ("teacher", manifest.teacher or "-"),
        ("validator", manifest.validator or "-"),
        ("tokens in / out", f"{manifest.tokens_in:,} / {manifest.tokens_out:,}"),
        ("cost", cost),
        ("created", manifest.created_at),
        ("rft", f"{manifest.rft_version}" + (f" (git {manifest.git_commit})" if manifest.git_commit else "")),
    ]
    if manifest.command:
        rows.append(("command", "`" + " ".join(manifest.command).replace("`", "'") + "`"))
    return rows


DESCRIPTION = (
    "Step-by-step reasoning traces generated with rft: for each problem, the "
    "whole search (candidate steps, validator scores and critiques, dead ends and backtracks) in "
    "`trace`, and a ready-to-train chat rendering in `messages`."
)


def table_lines(rows: list[tuple[str, str]]) -> list[str]:
    return ["| | |", "|---|---|", *(f"| {k} | {_md_cell(v, 200)} |" for k, v in rows)]


def example_lines(counts: RecordCounts) -> list[str]:
    """The `## Examples` section (the first records), or nothing when there are none."""
    if not counts.examples:
        return []
    lines = [
        "",
        "## Examples",
        "",
        "| id | question | gold | final | correct | backtracks |",
        "|---|---|---|---|---|---|",
    ]
    for r in counts.examples:
        lines.append(
            f"| {_md_cell(r.id, 30)} | {_md_cell(r.problem.question)} | {_md_cell(r.problem.answer or '-', 20)} "
            f"| {_md_cell(r.outcome.final_answer or '-', 20)} | {r.outcome.correct} | {r.outcome.backtracks} |"
        )
    return lines


def front_matter(header: dict) -> list[str]:
    return ["---", yaml.safe_dump(header, sort_keys=False).rstrip(), "---"]


def default_card(manifest: Manifest, counts: RecordCounts) -> str:
    """Markdown card for `manifest` and the `counts` of its records (summed while they were written);
    the YAML header lets the Hub load data.jsonl directly. `rft.publish.card` builds the Hub card
    from the same pieces."""
    lines = [
        *front_matter(card_header(manifest, counts)),
        "",
        f"# {manifest.name} (v{manifest.version})",
        "",
        DESCRIPTION,
        "",
        *table_lines(summary_rows(manifest, counts)),
        "",
        "## Fields",
        "",
        "One JSON object per line in `data.jsonl`: `schema_version`, `problem` (id, question, gold answer, "
        "domain, source), `trace` (`nodes`: the search tree with status selected / rejected / dead_end / "
        "solution / unexplored, score, rank, critique, final answer, verdict; `events`: expand, select, "
        "backtrack, solve, give_up in the order they happened), `outcome` (solved, correct, counts, tokens, "
        "cost), `messages` (chat rendering), `render` (the renderer style).",
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        f'ds = load_dataset("json", data_files="{DATA_FILE}", split="train")',
        "```",
        "",
        f"Integrity: `manifest.json` holds the sha256 of every file and of itself (`manifest_sha256`); "
        f"`rft datasets show {manifest.name}@v{manifest.version}` verifies them.",
        *example_lines(counts),
    ]
    return "\n".join(lines) + "\n"
