"""The problems of a generate run: loaded from the source, gated against benchmark test data, named,
fingerprinted, and the validator they allow."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from rft.console import err
from rft.errors import ConfigError
from rft.generate.config import GenerateConfig
from rft.problems.problemset import ProblemSet
from rft.problems.testsplits import BenchmarkTestSplit
from rft.schemas import Problem

ContentCheck = Callable[[str, Sequence[str]], BenchmarkTestSplit | None]
"""(source, questions) -> the benchmark test split they are, by content (the CLI passes the
decontamination fingerprints' check from `rft.validate.testdata`: generate does not import validate).
The questions are read as they are indexed: a check samples a few."""


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


def load(cfg: GenerateConfig, content_check: ContentCheck | None = None) -> tuple[ProblemSet, str | None]:
    """The problems (held compactly) and the source's fingerprint. A known benchmark test split (by
    Hub id and split or by file bytes) is refused or warned about; `content_check` also looks at
    the questions (it reads the few it samples)."""
    from rft.problems import load_problem_set, source_fingerprint
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
    problems = load_problem_set(
        cfg.problems.problems, **selection, on_duplicate_id=cfg.problems.on_duplicate_id, warn=warn
    )
    if not problems:
        raise ConfigError(f"--problems: no problems in {cfg.problems.problems}")
    # by content: a subset or a copy of a test set
    if content_check is not None and known is None and spec.kind != "builtin":
        gate(content_check(cfg.problems.problems, problems.questions))
    fp = source_fingerprint(cfg.problems.problems, **selection)
    return problems, fp


def problems_fingerprint(problems: ProblemSet | Sequence[Problem]) -> str:
    """sha256 over the problems themselves (for problems given directly, not from a source): the
    JSON of each, one a line."""
    h = hashlib.sha256()
    lines = (
        problems.json_lines()
        if isinstance(problems, ProblemSet)
        else (p.model_dump_json().encode() for p in problems)
    )
    for line in lines:
        h.update(line)
        h.update(b"\n")
    return "sha256:" + h.hexdigest()


def choose_validator(cfg: GenerateConfig, problems: ProblemSet) -> str:
    """The validator named, else `code-tests` when every problem is a code problem with tests, else
    `composite` when gold answers exist, else `judge`. A validator the problems cannot feed is a
    ConfigError."""
    has_gold = problems.has_gold
    all_code = len(problems) > 0 and problems.all_code_with_tests
    name = cfg.search.validator or ("code-tests" if all_code else "composite" if has_gold else "judge")
    if name == "answer" and not has_gold:
        raise ConfigError("--validator answer needs gold answers, and these problems have none")
    if name == "code-tests" and not all_code:
        missing = problems.first_without_tests()
        raise ConfigError(
            f"--validator code-tests needs code problems with tests, and problem {missing} has none"
        )
    return name
