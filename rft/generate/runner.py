"""The `rft generate` runner: problems -> concurrent searches -> records appended to a run -> sealed version.

Each finished problem is appended to the run at once, so a kill loses at most the problems in flight.
The run id is derived from the name and the config, so re-running the same command resumes the same
run; the teacher's response cache lives in the run folder, so a resumed problem repeats no call that
already finished. A problem that failed is retried by the same command; a run with failures is kept,
not sealed, unless `--seal-partial` (see `rft.generate.pool` and `rft.generate.seal`).

The parts: `problemset` (loading, gating, naming), `resume` (the saved config), `pool` (the
searches), `budget` (spending and failures), `record` (a search as a record), `seal`, `dryrun`.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path

from rft.console import out
from rft.errors import RftError
from rft.generate.config import GenerateConfig
from rft.generate.context import GenerateOutcome, RunContext
from rft.generate.dryrun import dry_run
from rft.generate.pool import search_all
from rft.generate.problemset import ContentCheck, choose_validator, default_name, load, problems_fingerprint
from rft.generate.prompts import PromptSet
from rft.generate.resume import resumed_config
from rft.generate.seal import IncompleteRunError, check_sealable, seal_run
from rft.problems.problemset import ProblemSet
from rft.schemas import Problem
from rft.teachers.base import Teacher
from rft.teachers.config import TeacherConfig
from rft.teachers.ping import preflight
from rft.verify.steps import JUDGELESS, JudgePrompt, make_validator

__all__ = [
    "GenerateOutcome",
    "GenerateRun",
    "IncompleteRunError",
    "command_line",
    "default_name",
    "problems_fingerprint",
    "teacher_options",
]


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


def teacher_options(cfg: GenerateConfig) -> tuple[TeacherConfig, TeacherConfig | None]:
    """The options the run makes its teacher and its judge with (None: the teacher judges)."""
    judge = cfg.for_judge()
    return _request_limits(cfg, cfg.teacher), judge and _request_limits(cfg, judge)


class GenerateRun:
    """One invocation of `rft generate` (fresh or resumed).

    `teacher` / `judge`: teachers to use instead of making them from the config's specs (which the
    records still name), e.g. a scripted teacher; a given teacher also judges unless a judge is given.
    The runner closes only the teachers it made. `problems`: given directly instead of loaded from
    `cfg.problems.problems`."""

    def __init__(
        self,
        cfg: GenerateConfig,
        command: list[str],
        *,
        resume: str | None = None,
        teacher: Teacher | None = None,
        judge: Teacher | None = None,
        content_check: ContentCheck | None = None,
        progress: bool = True,
        problems: Iterable[Problem] | None = None,
        seal_partial: bool = False,
    ) -> None:
        self.cfg = cfg
        self.seal_partial = seal_partial  # seal the finished problems even when some failed
        self.command = command
        self.resume = resume
        self.teacher = teacher
        self.judge = judge
        self.content_check = content_check
        self.progress = progress
        self.problems = problems
        self.run_id: str | None = None

    def execute(self, dry: bool = False) -> GenerateOutcome | None:
        from rft.store import Store
        from rft.store.refs import check_name

        cfg = self.cfg
        store = Store(cfg.output.out)
        run = None
        if self.resume:
            run = store.find_run(self.resume)
            cfg = self.cfg = resumed_config(cfg, run)
            self.command = list(run.meta.get("command") or self.command)
        prompts = PromptSet.load(cfg.search.prompt_template)
        judge_prompt = JudgePrompt.load(cfg.search.judge_template)  # a bad template fails first
        if self.problems is not None:
            problems = ProblemSet.of(self.problems)
            fingerprint = problems_fingerprint(problems)
        else:
            problems, fingerprint = load(cfg, self.content_check)
        validator = choose_validator(cfg, problems)
        name = cfg.output.name or default_name(cfg.problems.problems, cfg.problems.shard_tuple())
        check_name(name)  # the same rule in a dry run as in a real one
        if dry:
            out.print(f"dataset: {name} (under {cfg.output.out})", soft_wrap=True, markup=False)
            dry_run(cfg, problems, validator)
            return None
        if run is None:
            meta = {"config": cfg.resolved(), "command": self.command, "source_fingerprint": fingerprint}
            self._check_specs()  # a bad spec is an error before anything is written
            run_id = f"gen-{cfg.identity(fingerprint)}"
            fresh = all(r.id != run_id for r in store.runs(name))
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
        ctx = RunContext(
            cfg, self.command, store, run, name, problems, fingerprint, validator, prompts, judge_prompt,
            progress=self.progress, seal_partial=self.seal_partial,
        )  # fmt: skip
        try:
            return asyncio.run(self._run(ctx))
        except IncompleteRunError:
            raise  # the run is kept: its cache and finished problems are what the re-run resumes
        except RftError:
            if fresh and not run.done_ids():  # e.g. a missing API key: leave no empty run behind
                shutil.rmtree(run.path, ignore_errors=True)
            raise
        finally:
            run.close()

    def _check_specs(self) -> None:
        """The specs of the teachers this run will make parse (a given teacher is not made)."""
        from rft.teachers import parse_spec

        cfg = self.cfg
        if self.teacher is None:
            parse_spec(cfg.teacher.spec)
        if cfg.judge and self.judge is None and self.teacher is None:
            parse_spec(cfg.judge.spec)

    def _teachers(self, cache_path: Path, need_judge: bool = True) -> tuple[Teacher, Teacher, list[Teacher]]:
        """(teacher, judge, the ones made here, which the run closes). A validator that asks no judge
        (`need_judge` False) gets the teacher in its place: no judge is made or pinged."""
        teacher_opts, judge_opts = teacher_options(self.cfg)
        made: list[Teacher] = []
        teacher = self.teacher
        if teacher is None:
            teacher = _make_teacher(self.cfg.teacher.spec, teacher_opts, cache_path)
            made.append(teacher)
        judge = self.judge
        if judge is None:
            if judge_opts is None or self.teacher is not None or not need_judge:
                judge = teacher
            else:
                judge = _make_teacher(judge_opts.spec, judge_opts, cache_path)
                made.append(judge)
        return teacher, judge, made

    async def _run(self, ctx: RunContext) -> GenerateOutcome:
        teacher, judge, made = self._teachers(ctx.run.cache_path, need_judge=ctx.validator not in JUDGELESS)
        try:
            await preflight(teacher)
            if judge is not teacher:
                await preflight(judge)
            validator = make_validator(
                ctx.validator, judge, ctx.judge_prompt, ctx.cfg.search.judge_max_tokens
            )
            budget, failures = await search_all(ctx, teacher, validator)
        finally:
            for t in made:
                await t.aclose()
        check_sealable(ctx, budget, failures)
        return seal_run(ctx, budget.stop_reason, failures)


def command_line() -> list[str]:
    return ["rft", *sys.argv[1:]]
