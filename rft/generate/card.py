"""The dataset card of a generated version: the store's default card plus how the traces were made."""

from __future__ import annotations

from typing import Any

from rft.generate.config import GenerateConfig
from rft.schemas import Manifest, RecordCounts
from rft.store.card import default_card

STRATEGY_TEXT = {
    "dfs": "depth-first search: descend into the best-ranked candidate step; backtrack to the next-best "
    "sibling, then further up, when the best score is below the threshold, when a subtree ends in a wrong "
    "final answer, or when the depth runs out",
    "beam": "beam search: keep the best `beam_width` partial paths at each depth",
    "best-first": "best-first search: one global priority queue of open steps ordered by validator score",
    "sample": "the sampling baseline: whole solutions sampled independently, the correct ones kept "
    "(rejection sampling); the first correct sample is the record's solution, the others are kept in the "
    "trace as rejected samples with their verdicts",
}


REFLECT_TEXT = {
    "teacher": "the judge's critique of the step found wrong, else a self-check the teacher wrote after a "
    "wrong final answer without being told the correct one (a `reflection` node of the trace)",
    "critique": "the judge's critique of the step found wrong only; a dead end no critique explains is "
    "left out of the rendered text",
    "none": "none: backtracks are rendered without a reason (an ablation)",
}


def generate_card(m: Manifest, tally: RecordCounts, manifest: dict[str, Any], cfg: GenerateConfig) -> str:
    """The card of the sealed version `m` (the manifest sealing wrote, so it names the version sealed)
    and the `tally` of its records (summed while they were written)."""
    lines = generation_lines(manifest, cfg, tally.records)
    return default_card(m, tally).rstrip() + "\n" + "\n".join(lines) + "\n"


def generation_lines(manifest: dict[str, Any], cfg: GenerateConfig, records: int) -> list[str]:
    """The `## How these traces were made` section of a generated version: `manifest` is its manifest
    (as data: counts, validator, metadata) and `cfg` the generate config it records."""
    counts = manifest["counts"]
    lines = [
        "",
        "## How these traces were made",
        "",
        f"Generated with `rft generate`, strategy `{cfg.search.strategy}`: {STRATEGY_TEXT[cfg.search.strategy]}.",
        "",
        f"- teacher: `{cfg.teacher.spec}`; validator: `{manifest['validator']}`; threshold {cfg.search.threshold}",
        f"- branches per step: {cfg.search.branches}; max depth {cfg.search.max_depth}; max nodes {cfg.search.max_nodes}; "
        f"max backtracks {cfg.search.max_backtracks}; temperature {cfg.search.temperature}; seed {cfg.search.seed}",
        f"- `messages` rendered with `{cfg.output.render}` (max {cfg.output.max_wrong_per_node} wrong attempts shown per step)"
        + (f", system message: {cfg.output.system!r}" if cfg.output.system else "")
        + "; the full search tree and event log are in `trace`, so `path`, `backtrack`, `search` and "
        "`think` renderings can be made later without calling a teacher",
        f"- backtrack reasons (`--reflect {cfg.search.reflect}`): {REFLECT_TEXT[cfg.search.reflect]}; never a score, a "
        "checker's verdict or the gold answer",
        f"- trainable records (solved and, where gold exists, correct): {int(counts.get('trainable', 0))} "
        f"of {int(counts.get('records', records))}",
        f"- mean backtracks per problem: {counts.get('mean_backtracks', 0)}; teacher calls: "
        f"{int(counts.get('teacher_calls', 0))}",
    ]
    if manifest["validator"] == "code-tests":
        lines.insert(
            6,  # after the teacher and validator line
            "- `code-tests`: each final step's program ran against its problem's tests in the sandbox (the "
            "limits `rft eval` uses); its score is the share of tests passed, and a solved trace's program "
            "passed them all; reasoning steps before it are not scored",
        )
    if cfg.search.strategy == "sample":
        lines.append(
            f"- rejection sampling: {int(counts.get('samples_correct', 0))} of {int(counts.get('samples', 0))} "
            "samples were correct"
        )
    if counts.get("failed"):
        meta = manifest["metadata"]
        skipped = f", {meta['not_started']} more were not started" if meta.get("not_started") else ""
        lines.append(
            f"- incomplete: {int(counts['failed'])} problems failed{skipped} (teacher errors) and are not "
            "in this version, which was sealed with `--seal-partial`"
        )
    if manifest["metadata"].get("stopped"):
        lines.append(
            f"- the run stopped early ({manifest['metadata']['stopped']}): not every problem is included"
        )
    return lines
