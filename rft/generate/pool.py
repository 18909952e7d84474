"""The searches of a run: `--concurrency` workers pull the pending problems, and each finished
problem is appended to the run at once (a kill loses at most the problems in flight).

A problem whose search fails (the teacher unreachable, 5xx/429/timeouts after the retries, a refusal
such as a 400 for a prompt too long) is not data: it is a `problem_failed` event in the run, never a
record, so the same command retries it. Refusals are treated like outages on purpose: a 400 can be
systemic (a parameter every request carries), and sealing it as data would repeat the outage defect;
they differ only in that they do not trip the breaker that stops starting new problems."""

from __future__ import annotations

import asyncio

from rft.console import err
from rft.errors import RftError, StorageError
from rft.generate.budget import Budget, Failures
from rft.generate.context import RunContext
from rft.generate.progress import LiveProgress, Totals
from rft.generate.record import build_record
from rft.generate.resume import finished_before
from rft.generate.search import Searcher
from rft.schemas import Problem
from rft.teachers.base import Teacher
from rft.teachers.errors import TeacherRefused
from rft.teachers.http import short
from rft.verify.steps import StepValidator


async def search_all(ctx: RunContext, teacher: Teacher, validator: StepValidator) -> tuple[Budget, Failures]:
    """Search every problem of `ctx` not finished yet; the budget (why it stopped, if it did) and
    the failures of this invocation."""
    cfg, run = ctx.cfg, ctx.run
    done = run.done_ids()  # failures of earlier invocations are not done: they are retried
    before, prior_cost = finished_before(run, done)
    problems = ctx.problems
    pending = sum(1 for pid in problems.ids if pid not in done)
    totals = Totals(
        done=before.records,
        solved=before.solved,
        failed=0,
        backtracks=before.backtracks,
        tokens=before.tokens_in + before.tokens_out,
    )
    # run-wide spending includes what earlier invocations of this run spent
    totals.cost_usd = prior_cost
    budget = Budget(cfg.search.max_cost_usd, totals, cfg.teacher.spec, spent_usd=prior_cost)
    failures = Failures()
    searcher = Searcher(
        teacher, validator, ctx.prompts, cfg.search, run_guard=budget.guard, on_usage=budget.on_usage
    )
    if done:
        err.print(f"resuming run {run.id}: {len(done)} of {len(problems)} problems already done")

    async def one(problem: Problem, live: LiveProgress) -> None:
        if budget.guard():
            return
        if failures.tripped:  # the teacher is down: start nothing new
            failures.not_started.append(problem.id)
            return
        try:
            res = await searcher.run(problem)
        except StorageError:  # a full disk is no failed problem: the run stops, nothing recorded
            raise
        except RftError as exc:  # an outage or a refusal: an event, never a record
            refused = isinstance(exc, TeacherRefused)
            message = short(exc, 500)  # one line, secrets scrubbed
            failures.failed(problem.id, message, outage=not refused)
            run.append_event(
                "problem_failed",
                {"problem": problem.id, "kind": "refused" if refused else "outage", "error": message},
            )
            totals.failed += 1
            live.refresh()
            return
        if res.stop_reason == budget.stop_reason and res.stop_reason is not None:
            return  # cut short by the run-wide budget: not finished, not recorded
        failures.finished()
        rec = build_record(problem, res, cfg, ctx.validator)
        run.append_record(rec)
        totals.done += 1
        totals.solved += rec.outcome.solved
        totals.backtracks += rec.outcome.backtracks
        live.refresh(advance=1)

    with LiveProgress(len(problems), len(done), totals, enabled=ctx.progress) as live:
        # concurrency workers pull problems: no task per problem up front, and each Problem is made
        # from the compact set only when a worker takes it
        queue = (problems[i] for i, pid in enumerate(problems.ids) if pid not in done)

        async def worker() -> None:
            for problem in queue:
                await one(problem, live)

        tasks = [asyncio.create_task(worker()) for _ in range(min(cfg.concurrency, pending))]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            run.sync()  # records are fsynced once a second while the searches run
    return budget, failures
