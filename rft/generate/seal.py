"""Sealing a generate run: the finished records, in problem order, read from the run as a stream
into the next version, with the manifest and the card made from their counts. A run with failures
is kept, not sealed (exit 2), unless `--seal-partial`: then the manifest says the version is
incomplete and which problems failed."""

from __future__ import annotations

from typing import Any

from rft.console import err, out
from rft.errors import RftError
from rft.generate.budget import Budget, Failures
from rft.generate.card import generate_card
from rft.generate.context import GenerateOutcome, RunContext
from rft.schemas import Manifest, RecordCounts
from rft.verify.steps import JUDGELESS


class IncompleteRunError(RftError):
    """Some problems failed (the teacher unreachable, or refusing them): the run is kept, not sealed."""


def check_sealable(ctx: RunContext, budget: Budget, failures: Failures) -> None:
    """Raise IncompleteRunError when problems failed (and --seal-partial does not apply); say why
    what is sealed is incomplete otherwise."""
    run, total = ctx.run, len(ctx.problems)
    if failures.errors:
        finished = len(run.done_ids() & set(ctx.problems.ids))
        if not ctx.seal_partial or not finished:  # --seal-partial never seals an empty version
            hint = (
                f" (or add --seal-partial to seal the {finished} finished ones without them)"
                if finished
                else ""
            )
            raise IncompleteRunError(
                f"{failures.summary(total)}; {finished} finished problems are kept in run "
                f"{run.id}; re-run the same command to retry the failed ones{hint}"
            )
        err.print(
            f"warning: {failures.summary(total)}; --seal-partial: sealing the {finished} finished",
            markup=False,
            soft_wrap=True,
        )
    if budget.stop_reason:
        err.print(
            f"stopped: {budget.stop_reason} reached (${budget.spent_usd:.4f} spent); sealing what is finished"
        )


def generate_manifest(
    ctx: RunContext, tally: RecordCounts, stopped: str | None, failures: Failures
) -> dict[str, Any]:
    """The manifest of a generate seal, from the counts of the records sealed."""
    cfg, n = ctx.cfg, tally.records
    counts: dict[str, float] = {
        "problems": len(ctx.problems),
        "records": n,
        "solved": tally.solved,
        "correct": tally.correct,
        "trainable": tally.trainable,
        "failed": len(failures.errors),
        "backtracks": tally.backtracks,
        "mean_backtracks": round(tally.backtracks / n, 4) if n else 0.0,
        "teacher_calls": tally.teacher_calls,
    }
    if cfg.search.strategy == "sample":
        counts["samples"] = tally.samples
        counts["samples_correct"] = tally.samples_correct
    cost = None if tally.cost_usd is None else round(tally.cost_usd, 6)
    validator_desc = ctx.validator + (
        f" (judge {(cfg.judge or cfg.teacher).spec})" if ctx.validator not in JUDGELESS else ""
    )
    manifest = {
        "stage": "generate",
        "config": cfg.resolved(),
        "command": ctx.command,
        "teacher": cfg.teacher.spec,
        "validator": validator_desc,
        "counts": counts,
        "tokens_in": tally.tokens_in,
        "tokens_out": tally.tokens_out,
        "cost_usd": cost,
        "source_fingerprint": ctx.fingerprint,
        "metadata": {
            "run_id": ctx.run.id,
            "strategy": cfg.search.strategy,
            "render": cfg.output.render,
            "stopped": stopped,
            "complete": n == len(ctx.problems),
        },
    }
    if failures.errors:  # sealed with --seal-partial: say what is missing and why
        order = ctx.order()
        manifest["metadata"].update(
            incomplete="seal_partial",
            failed=len(failures.errors),
            failed_ids=sorted(failures.errors, key=lambda i: order.get(i, 0)),
            not_started=len(failures.not_started),
            failure=failures.reason(),
        )
    return manifest


def seal_run(ctx: RunContext, stopped: str | None, failures: Failures | None = None) -> GenerateOutcome:
    """Seal the finished records of the run as the next version of the dataset (or find the version
    another process sealed it into) and print what was sealed."""
    run, name, total = ctx.run, ctx.name, len(ctx.problems)
    failures = failures or Failures()
    # the finished record of each problem, in problem order, read from the run as a stream (a
    # failure, which an old rft recorded as a record, is never sealed as data)
    records = run.finished_records(ctx.order())
    made: dict[str, Any] = {}

    def manifest_of(tally: RecordCounts) -> dict[str, Any]:
        made["manifest"] = generate_manifest(ctx, tally, stopped, failures)
        return made["manifest"]

    def card(m: Manifest, tally: RecordCounts) -> str:
        return generate_card(m, tally, made["manifest"], ctx.cfg)

    sealed = ctx.store.seal(name, records, manifest=manifest_of, card=card, run=run)
    if sealed.reused:  # another process sealed this run first: its version, nothing new written
        out.print(f"run {run.id} was already sealed as {sealed.ref}; nothing to do")
        out.print(f"wrote {sealed.path}")
        return GenerateOutcome(name, run.id, sealed.ref, sealed.path, dict(sealed.manifest.counts))
    counts = made["manifest"]["counts"]
    n, solved = int(counts["records"]), int(counts["solved"])
    label = sealed.ref
    if failures.errors:
        they = "; they" if failures.not_started else " and"
        label += f" (incomplete: {failures.counted(total)}{they} are not in it)"
    out.print(
        f"sealed {label}: {n}/{total} problems, {solved} solved"
        f" ({solved / n:.0%}), {int(counts['correct'])} correct, {int(counts['trainable'])} trainable, "
        f"{counts['mean_backtracks']:.2f} backtracks/problem"
        if n
        else f"sealed {label}: 0 records",
        soft_wrap=True,
    )
    out.print(f"wrote {sealed.path}")
    return GenerateOutcome(name, run.id, sealed.ref, sealed.path, counts)
