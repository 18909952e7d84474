"""The `rft generate` runner: problems -> concurrent searches -> records appended to a run -> sealed version.

Each finished problem is appended (fsynced) to the run at once, so a kill loses at most the problems
in flight. The run id is derived from the name and the config, so re-running the same command
resumes the same run; the teacher's response cache lives in the run folder, so a resumed problem
repeats no call that already finished.

A problem whose search fails (the teacher unreachable, 5xx/429/timeouts after the retries, a refusal
such as a 400 for a prompt too long) is not data: it is a `problem_failed` event in the run, never a
record, so the same command retries it. A run with failures is kept, not sealed: it ends with one line
counting them (exit 2). `--seal-partial` seals the finished problems anyway, and the manifest says the
version is incomplete and which problems failed. Refusals are treated like outages on purpose: a 400
can be systemic (a parameter every request carries), and sealing it as data would repeat the outage
defect; they differ only in that they do not trip the breaker that stops starting new problems.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft.console import err, out
from rft.errors import ConfigError, RftError, StorageError
from rft.generate.card import generate_card
from rft.generate.config import NON_SEMANTIC, GenerateConfig
from rft.generate.estimate import estimate
from rft.generate.labels import fill_values
from rft.generate.progress import LiveProgress, Totals
from rft.generate.prompts import PromptSet
from rft.generate.render import render
from rft.generate.search import Searcher, SearchResult
from rft.problems.testsplits import BenchmarkTestSplit
from rft.redaction import REDACTED
from rft.schemas import Outcome, Problem, Record, RecordCounts
from rft.teachers.base import Completion, Teacher
from rft.teachers.config import TeacherConfig
from rft.teachers.errors import TeacherRefused
from rft.teachers.http import short
from rft.teachers.ping import preflight
from rft.verify.steps import JudgePrompt, make_validator

TeacherFactory = Callable[[str, TeacherConfig, Path | None], Teacher]
ContentCheck = Callable[[str, list[str]], BenchmarkTestSplit | None]
"""(source, questions) -> the benchmark test split they are, by content (the CLI passes the
decontamination fingerprints' check from `rft.validate.testdata`: generate does not import validate)."""

# After this many problems in a row failed for an outage (no problem finished in between), no new
# problem is started: a dead server costs a few problems' retries, not the whole run's.
OUTAGE_BREAKER = 3


class IncompleteRunError(RftError):
    """Some problems failed (the teacher unreachable, or refusing them): the run is kept, not sealed."""


@dataclass
class GenerateOutcome:
    name: str
    run_id: str
    ref: str | None = None  # name@vN once sealed
    path: Path | None = None
    counts: dict[str, Any] | None = None
    interrupted: bool = False


def default_name(source: str, shard: tuple[int, int] | None = None) -> str:
    """A dataset name derived from the problem source: `demo`, `gsm8k-train`, `openai-gsm8k`;
    a shard gets its own name (`gsm8k-train-shard0of4`) so the parts can be merged."""
    if source.startswith("hf:"):
        base = source[3:].split(":")[0].replace("/", "-")
    elif source in ("demo",) or ":" in source and not Path(source).exists():
        base = source.split(":")[0]
    else:
        p = Path(source)
        base = f"{p.parent.name}-{p.stem}" if p.parent.name not in ("", ".") else p.stem
    base = (re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-._") or "dataset")[:72]
    return f"{base}-shard{shard[0]}of{shard[1]}" if shard else base


def _make_teacher(spec: str, options: TeacherConfig, cache_path: Path | None) -> Teacher:
    from rft.teachers import make_teacher

    return make_teacher(spec, options.model_copy(update={"cache_path": cache_path}))


def _request_limits(cfg: GenerateConfig, options: TeacherConfig) -> TeacherConfig:
    """A teacher's requests in flight: enough for every problem in flight to fan out (branches or
    samples at once), unless its config section sets them."""
    if "concurrency" in options.model_fields_set:
        return options
    fanout = max(cfg.search.branches, cfg.search.samples)
    return options.model_copy(update={"concurrency": max(cfg.concurrency * fanout, 1)})


def load(cfg: GenerateConfig, content_check: ContentCheck | None = None) -> tuple[list[Problem], str | None]:
    """The problems and the source's fingerprint. A known benchmark test split (by Hub id and split
    or by file bytes) is refused or warned about; `content_check` also looks at the questions."""
    from rft.problems import load_problems, source_fingerprint
    from rft.problems.parse import parse_source
    from rft.problems.testsplits import known_test_split

    def gate(test_split):  # a benchmark's test data: refused, or allowed with a warning
        if test_split and not cfg.problems.allow_test_split:
            raise ConfigError(test_split.refusal())
        if test_split:
            err.print(test_split.warning(), soft_wrap=True, markup=False)

    spec = parse_source(cfg.problems.problems)
    known = known_test_split(spec)  # by Hub id and split, or by file bytes: before any download
    gate(known)

    selection = dict(
        preset=cfg.problems.preset,
        fields=cfg.problems.fields,
        limit=cfg.problems.limit,
        shuffle=cfg.problems.shuffle,
        seed=cfg.search.seed,
        shard=cfg.problems.shard_tuple(),
    )
    warn = lambda msg: err.print(msg, soft_wrap=True, markup=False)  # noqa: E731
    problems = load_problems(
        cfg.problems.problems, **selection, on_duplicate_id=cfg.problems.on_duplicate_id, warn=warn
    )
    if not problems:
        raise ConfigError(f"--problems: no problems in {cfg.problems.problems}")
    # by content: a subset or a copy of a test set
    if content_check is not None and known is None and spec.kind != "builtin":
        gate(content_check(cfg.problems.problems, [p.question for p in problems]))
    fp = source_fingerprint(cfg.problems.problems, **selection)
    return problems, fp


def problems_fingerprint(problems: list[Problem]) -> str:
    """sha256 over the problems themselves (for problems given directly, not from a source)."""
    h = hashlib.sha256()
    for p in problems:
        h.update(p.model_dump_json().encode())
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def choose_validator(cfg: GenerateConfig, problems: list[Problem]) -> str:
    has_gold = any(p.answer for p in problems)
    name = cfg.search.validator or ("composite" if has_gold else "judge")
    if name == "answer" and not has_gold:
        raise ConfigError("--validator answer needs gold answers, and these problems have none")
    return name


def dry_run(cfg: GenerateConfig, problems: list[Problem], validator: str) -> None:
    p = cfg.search
    est = estimate(problems, p, judged=validator != "answer", judge_max_tokens=cfg.search.judge_max_tokens)
    judge = (cfg.judge or cfg.teacher).spec
    out.print(f"problems: {est.problems}", soft_wrap=True)
    out.print(
        f"strategy: {cfg.search.strategy}  validator: {validator}  teacher: {cfg.teacher.spec}",
        soft_wrap=True,
    )
    out.print(
        f"upper bound: {est.calls:,} calls, {est.prompt_tokens:,} prompt tokens, "
        f"{est.completion_tokens:,} completion tokens",
        soft_wrap=True,
    )
    parts = [
        (
            "teacher",
            cfg.teacher.spec,
            est.teacher_prompt_tokens,
            est.teacher_completion_tokens,
            est.teacher_calls,
        )
    ]
    if est.judge_calls:
        parts.append(("judge", judge, est.judge_prompt_tokens, est.judge_completion_tokens, est.judge_calls))
    total: float | None = 0.0
    for role, spec, pt, ct, calls in parts:
        usd = _cost_bound(spec, cfg.teacher.prices_file, pt, ct)
        shown = "unknown (no price; give one with --prices-file)" if usd is None else f"${usd:,.4f}"
        if spec.startswith("local:"):
            shown = "$0 (local model)"
        out.print(
            f"  {role} {spec}: {calls:,} calls, {pt:,} + {ct:,} tokens, cost <= {shown}", soft_wrap=True
        )
        total = None if total is None or usd is None else total + usd
    out.print(
        "upper bound cost: " + ("unknown (a model has no price)" if total is None else f"${total:,.4f}"),
        soft_wrap=True,
    )
    out.print("dry run: no teacher was called, nothing was written")


def _cost_bound(
    spec: str, prices_file: str | None, prompt_tokens: int, completion_tokens: int
) -> float | None:
    """USD for these tokens at `spec`'s price; 0 for local models; None when the price is unknown."""
    from rft.teachers import parse_spec, price_of

    price = price_of(*parse_spec(spec), Path(prices_file) if prices_file else None)
    return None if price is None else price.cost(prompt_tokens, completion_tokens)


def _record(problem: Problem, res: SearchResult, cfg: GenerateConfig, validator: str) -> Record:
    outcome = Outcome(
        solved=res.solution is not None,
        final_answer=res.final_answer,
        correct=res.correct,
        nodes=len(res.trace.nodes),
        backtracks=res.backtracks,
        pruned=res.pruned,
        teacher_calls=res.meter.calls,
        tokens_in=res.meter.prompt_tokens,
        tokens_out=res.meter.completion_tokens,
        cost_usd=res.meter.cost_usd,
        wall_time_s=round(res.wall_time_s, 3),
        stop_reason=res.stop_reason,
    )
    meta = {
        "strategy": cfg.search.strategy,
        "validator": validator,
        "teacher": cfg.teacher.spec,
        "reflect": cfg.search.reflect,
        "threshold": cfg.search.threshold,
        **res.metadata,
    }
    if cfg.judge:
        meta["judge"] = cfg.judge.spec
    fill_values(res.trace, problem.answer, problem.domain.value)
    rec = Record(problem=problem, trace=res.trace, outcome=outcome, metadata=meta)
    rec.messages = render(
        rec, cfg.output.render, cfg.search.seed, cfg.output.max_wrong_per_node, system=cfg.output.system
    )
    rec.render = cfg.output.render
    return rec


@dataclass
class _Failures:
    """Problems of this invocation that did not finish because a teacher call failed. A failure is
    never a record (it is not data): it is an event in the run, and the same command retries it."""

    errors: dict[str, str]  # problem id -> one-line error
    not_started: list[str]  # left out once the breaker tripped

    def reason(self) -> str:
        counts = Counter(self.errors.values()).most_common()
        top = counts[0][0] if counts else "?"
        return top + (f"; and {len(counts) - 1} other errors" if len(counts) > 1 else "")

    def counted(self, total: int) -> str:
        what = f"{len(self.errors)} of {total} problems failed"
        if self.not_started:
            what += f" and {len(self.not_started)} were not started"
        return what

    def summary(self, total: int) -> str:
        return f"{self.counted(total)} ({self.reason()})"


class GenerateRun:
    """One invocation of `rft generate` (fresh or resumed)."""

    def __init__(
        self,
        cfg: GenerateConfig,
        command: list[str],
        *,
        resume: str | None = None,
        teacher_factory: TeacherFactory | None = None,
        content_check: ContentCheck | None = None,
        progress: bool = True,
        problems: list[Problem] | None = None,
        seal_partial: bool = False,
    ) -> None:
        self.cfg = cfg
        self.seal_partial = seal_partial  # seal the finished problems even when some failed
        self.command = command
        self.resume = resume
        self.teacher_factory = teacher_factory or _make_teacher
        self.content_check = content_check
        self.progress = progress
        self.problems = problems  # given directly (Python API) instead of loaded from cfg.problems.problems
        self.run_id: str | None = None

    def execute(self, dry: bool = False) -> GenerateOutcome | None:
        from rft.store import Store

        cfg = self.cfg
        store = Store(cfg.output.out)
        run = None
        if self.resume:
            run = store.find_run(self.resume)
            saved = run.meta.get("config")
            if not saved:
                raise ConfigError(f"--resume: run {self.resume} has no saved config")
            # how fast and where it runs may change on resume: --concurrency, --out, and any other
            # non-semantic option given now (--timeout, --max-retry-wait, ...); what it produces may not
            now = cfg.flat()
            keep = {k: now[k] for k in {"concurrency", "out"} | (cfg.flags_given() & NON_SEMANTIC)}
            for key, value in saved.items():  # secrets were never saved: they must be given again
                if isinstance(value, str) and REDACTED in value:
                    given = now.get(key)
                    if not isinstance(given, str) or REDACTED in given:
                        flag = "--" + key.replace("_", "-")
                        raise ConfigError(
                            f"--resume: run {self.resume} was started with a credential in {flag}, which "
                            f"is never stored; give {flag} again"
                        )
                    keep[key] = given
            cfg = self.cfg = GenerateConfig.model_validate({**saved, **keep})
            self.command = list(run.meta.get("command") or self.command)
        prompts = PromptSet.load(cfg.search.prompt_template)
        self.judge_prompt = JudgePrompt.load(cfg.search.judge_template)  # a bad template fails first
        params = cfg.search
        if self.problems is not None:
            problems, fingerprint = self.problems, problems_fingerprint(self.problems)
        else:
            problems, fingerprint = load(cfg, self.content_check)
        validator_name = choose_validator(cfg, problems)
        name = cfg.output.name or default_name(cfg.problems.problems, cfg.problems.shard_tuple())
        from rft.store.refs import check_name

        check_name(name)  # the same rule in a dry run as in a real one
        if dry:
            out.print(f"dataset: {name} (under {cfg.output.out})", soft_wrap=True, markup=False)
            dry_run(cfg, problems, validator_name)
            return None
        if run is None:
            meta = {
                "config": cfg.flat(),
                "command": self.command,
                "source_fingerprint": fingerprint,
            }
            if self.teacher_factory is _make_teacher:  # a bad spec is an error before anything is written
                from rft.teachers import parse_spec

                for spec in filter(None, (cfg.teacher.spec, cfg.judge and cfg.judge.spec)):
                    parse_spec(spec)
            run_id = f"gen-{cfg.identity(fingerprint)}"
            fresh = not store.runs(name) or all(r.id != run_id for r in store.runs(name))
            run = store.open_run(name, run_id=run_id, meta=meta)
        else:
            fresh = False
            name = run.name
        self.run_id = run.id
        store.recognise_seal(run)  # a seal killed before it marked the run is found from its version
        if run.sealed_as:
            out.print(f"run {run.id} was already sealed as {run.sealed_as}; nothing to do")
            version_dir = store.dataset_dir(run.name) / run.sealed_as.split("@")[-1]
            out.print(f"wrote {version_dir}")
            return GenerateOutcome(run.name, run.id, run.sealed_as, version_dir)
        try:
            return asyncio.run(
                self._run(store, run, name, problems, fingerprint, validator_name, prompts, params)
            )
        except IncompleteRunError:
            raise  # the run is kept: its cache and finished problems are what the re-run resumes
        except RftError:
            if fresh and not run.done_ids():  # e.g. a missing API key: leave no empty run behind
                shutil.rmtree(run.path, ignore_errors=True)
            raise

    async def _run(self, store, run, name, problems, fingerprint, validator_name, prompts, params):
        cfg = self.cfg
        teacher = self.teacher_factory(cfg.teacher.spec, _request_limits(cfg, cfg.teacher), run.cache_path)
        judge_cfg = cfg.for_judge()
        judge = (
            self.teacher_factory(judge_cfg.spec, _request_limits(cfg, judge_cfg), run.cache_path)
            if judge_cfg
            else teacher
        )
        try:
            await preflight(teacher)
            if judge is not teacher:
                await preflight(judge)
            validator = make_validator(validator_name, judge, self.judge_prompt, cfg.search.judge_max_tokens)
            outcome = await self._search_all(
                store, run, name, problems, fingerprint, validator_name, teacher, validator, prompts, params
            )
        finally:
            await teacher.aclose()
            if judge is not teacher:
                await judge.aclose()
        return outcome

    async def _search_all(
        self, store, run, name, problems, fingerprint, validator_name, teacher, validator, prompts, params
    ):
        cfg = self.cfg
        done = run.done_ids()  # failures of earlier invocations are not done: they are retried
        # what earlier invocations finished and spent, counted as a stream (not held); a failure
        # recorded as a record by an old rft is not finished
        before, prior_cost = RecordCounts(), 0.0
        for r in run.iter_records() if done else ():
            if r.outcome.error is None:
                before.add(r)
                prior_cost += r.outcome.cost_usd or 0.0
        pending = [p for p in problems if p.id not in done]
        totals = Totals(
            done=before.records,
            solved=before.solved,
            failed=0,
            backtracks=before.backtracks,
            tokens=before.tokens_in + before.tokens_out,
        )
        # run-wide spending includes what earlier invocations of this run spent
        totals.cost_usd = prior_cost
        spent = {"usd": prior_cost, "unknown": False}
        stop_reason: dict[str, str | None] = {"reason": None}
        warned = {"cost": False}
        failures = _Failures({}, [])
        outages_in_a_row = [0]

        def on_usage(c: Completion) -> None:
            totals.tokens += c.prompt_tokens + c.completion_tokens
            if c.cached:
                return
            if c.cost_usd is None:
                spent["unknown"] = True
                totals.add_cost(None)
                if cfg.search.max_cost_usd is not None and not warned["cost"]:
                    warned["cost"] = True
                    err.print(
                        f"warning: the price of {c.model or cfg.teacher.spec} is unknown; --max-cost-usd cannot be enforced"
                    )
            else:
                spent["usd"] += c.cost_usd
                totals.add_cost(c.cost_usd)

        def run_guard() -> str | None:
            if stop_reason["reason"]:
                return stop_reason["reason"]
            if cfg.search.max_cost_usd is not None and spent["usd"] >= cfg.search.max_cost_usd:
                stop_reason["reason"] = "max_cost_usd"
                return "max_cost_usd"
            return None

        searcher = Searcher(teacher, validator, prompts, params, run_guard=run_guard, on_usage=on_usage)
        if done:
            err.print(f"resuming run {run.id}: {len(done)} of {len(problems)} problems already done")

        async def one(problem: Problem, live: LiveProgress) -> None:
            if run_guard():
                return
            if outages_in_a_row[0] >= OUTAGE_BREAKER:  # the teacher is down: start nothing new
                failures.not_started.append(problem.id)
                return
            try:
                res = await searcher.run(problem)
            except StorageError:  # a full disk is no failed problem: the run stops, nothing recorded
                raise
            except RftError as exc:  # an outage or a refusal: an event, never a record
                refused = isinstance(exc, TeacherRefused)
                message = short(exc, 500)  # one line, secrets scrubbed
                failures.errors[problem.id] = message
                run.append_event(
                    "problem_failed",
                    {"problem": problem.id, "kind": "refused" if refused else "outage", "error": message},
                )
                if not refused:
                    outages_in_a_row[0] += 1
                totals.failed += 1
                live.refresh()
                return
            if res.stop_reason == stop_reason["reason"] and res.stop_reason is not None:
                return  # cut short by the run-wide budget: not finished, not recorded
            outages_in_a_row[0] = 0
            rec = _record(problem, res, cfg, validator_name)
            run.append_record(rec)
            totals.done += 1
            totals.solved += rec.outcome.solved
            totals.backtracks += rec.outcome.backtracks
            live.refresh(advance=1)

        with LiveProgress(len(problems), len(done), totals, enabled=self.progress) as live:
            queue = iter(pending)  # concurrency workers pull problems: no task per problem up front

            async def worker() -> None:
                for problem in queue:
                    await one(problem, live)

            tasks = [asyncio.create_task(worker()) for _ in range(min(cfg.concurrency, len(pending)))]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            finally:
                run.sync()  # records are fsynced once a second while the searches run
        if failures.errors:
            finished = len(run.done_ids() & {p.id for p in problems})
            if not self.seal_partial or not finished:  # --seal-partial never seals an empty version
                hint = (
                    f" (or add --seal-partial to seal the {finished} finished ones without them)"
                    if finished
                    else ""
                )
                raise IncompleteRunError(
                    f"{failures.summary(len(problems))}; {finished} finished problems are kept in run "
                    f"{run.id}; re-run the same command to retry the failed ones{hint}"
                )
            err.print(
                f"warning: {failures.summary(len(problems))}; --seal-partial: sealing the {finished} finished",
                markup=False,
                soft_wrap=True,
            )
        if stop_reason["reason"]:
            err.print(
                f"stopped: {stop_reason['reason']} reached (${spent['usd']:.4f} spent); sealing what is finished"
            )
        return self._seal(
            store, run, name, problems, fingerprint, validator_name, teacher, stop_reason["reason"], failures
        )

    def _seal(
        self, store, run, name, problems, fingerprint, validator_name, teacher, stopped, failures=None
    ) -> GenerateOutcome:
        cfg = self.cfg
        failures = failures or _Failures({}, [])
        order = {p.id: i for i, p in enumerate(problems)}
        # the finished record of each problem, in problem order, read from the run as a stream (a
        # failure, which an old rft recorded as a record, is never sealed as data)
        records = run.finished_records(order)
        made: dict[str, Any] = {}

        def manifest_of(tally: RecordCounts) -> dict[str, Any]:
            n = tally.records
            counts: dict[str, float] = {
                "problems": len(problems),
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
            validator_desc = validator_name + (
                f" (judge {(cfg.judge or cfg.teacher).spec})" if validator_name != "answer" else ""
            )
            manifest = {
                "stage": "generate",
                "config": cfg.flat(),
                "command": self.command,
                "teacher": cfg.teacher.spec,
                "validator": validator_desc,
                "counts": counts,
                "tokens_in": tally.tokens_in,
                "tokens_out": tally.tokens_out,
                "cost_usd": cost,
                "source_fingerprint": fingerprint,
                "metadata": {
                    "run_id": run.id,
                    "strategy": cfg.search.strategy,
                    "render": cfg.output.render,
                    "stopped": stopped,
                    "complete": n == len(problems),
                },
            }
            if failures.errors:  # sealed with --seal-partial: say what is missing and why
                manifest["metadata"].update(
                    incomplete="seal_partial",
                    failed=len(failures.errors),
                    failed_ids=sorted(failures.errors, key=lambda i: order.get(i, 0)),
                    not_started=len(failures.not_started),
                    failure=failures.reason(),
                )
            made["manifest"] = manifest
            return manifest

        def card(m, tally: RecordCounts) -> str:
            return generate_card(m, tally, made["manifest"], cfg)

        sealed = store.seal(name, records, manifest=manifest_of, card=card, run=run)
        if sealed.reused:  # another process sealed this run first: its version, nothing new written
            out.print(f"run {run.id} was already sealed as {sealed.ref}; nothing to do")
            out.print(f"wrote {sealed.path}")
            return GenerateOutcome(name, run.id, sealed.ref, sealed.path, dict(sealed.manifest.counts))
        counts = made["manifest"]["counts"]
        n = int(counts["records"])
        solved = int(counts["solved"])
        label = sealed.ref
        if failures.errors:
            they = "; they" if failures.not_started else " and"
            label += f" (incomplete: {failures.counted(len(problems))}{they} are not in it)"
        out.print(
            f"sealed {label}: {n}/{len(problems)} problems, {solved} solved"
            f" ({solved / n:.0%}), {int(counts['correct'])} correct, {int(counts['trainable'])} trainable, "
            f"{counts['mean_backtracks']:.2f} backtracks/problem"
            if n
            else f"sealed {label}: 0 records",
            soft_wrap=True,
        )
        out.print(f"wrote {sealed.path}")
        return GenerateOutcome(name, run.id, sealed.ref, sealed.path, counts)


def command_line() -> list[str]:
    return ["rft", *sys.argv[1:]]
