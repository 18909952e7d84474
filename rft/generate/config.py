"""`GenerateConfig`: everything `rft generate` needs, built from parts: the problems, the teacher and
the judge (each a `TeacherConfig`), the search (`SearchConfig`, which `Searcher` takes as it is) and
the output. Every field is documented once; the CLI options come from these definitions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from rft.config import Part, StageConfig
from rft.problems.config import ProblemsConfig
from rft.store.config import store_root
from rft.teachers.config import ENDPOINT, REQUEST_LIMITS, TeacherConfig, judge_part

# Fields (flat names) that change how fast a run goes or where it prints, not what it produces: they
# are left out of the run identity, so re-running with another --concurrency resumes the same run.
NON_SEMANTIC = frozenset(
    {
        *REQUEST_LIMITS,
        "dry_run",
        "allow_test_split",
        "resume",
        "out",
        "progress",
        "device",
    }
)
# Flat names added after run ids were first computed: in the identity only when set, so a run started
# before them keeps its id.
LATER_OPTIONS = frozenset({"judge_reasoning_effort"})
# What the judge may set apart from the teacher; its other settings (limits, retries, prices, local
# device) are the teacher's unless the config file's `judge:` section sets them.
JUDGE_OWN = (*ENDPOINT, "reasoning_effort")

# The teacher's settings that have flags (the others are set in a config file's `teacher:` section).
TEACHER_LIMITS = (
    "rpm", "tpm", "timeout_s", "max_retries", "max_retry_wait_s", "prices_file", "device", "dtype",
)  # fmt: skip
JUDGE_HELP = {
    "spec": "judge spec for the judge/composite validator; default: the teacher",
    "base_url": "endpoint of the judge; default: the teacher's when the judge has its provider",
    "api_key_env": "NAME of the env var with the judge's API key",
    "reasoning_effort": "the judge's reasoning effort (OpenAI reasoning models); never the teacher's",
}


class SearchConfig(BaseModel):
    """How one problem is searched; `Searcher` takes it as it is."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["dfs", "beam", "best-first", "sample"] = Field(
        default="dfs", description="dfs | beam | best-first | sample"
    )
    validator: Literal["judge", "answer", "composite", "code-tests"] | None = Field(
        default=None,
        description="judge | answer | composite | code-tests; default: code-tests when every problem is "
        "code with tests, else composite when gold answers exist, else judge",
    )
    branches: int = Field(
        default=3, ge=1, description="candidate steps per step", json_schema_extra={"aliases": ["-k"]}
    )
    beam_width: int = Field(default=2, ge=1, description="paths kept per depth (beam)")
    samples: int = Field(default=4, ge=1, description="whole solutions per problem (sample)")
    threshold: float = Field(
        default=0.5, ge=0.0, le=1.0, description="backtrack when the best score is below this (0-1)"
    )
    temperature: float = Field(default=0.8, ge=0.0, description="sampling temperature of candidate steps")
    max_tokens_per_step: int = Field(default=128, ge=1, description="tokens per candidate step")
    max_tokens_per_sample: int = Field(default=512, ge=1, description="tokens per whole solution (sample)")
    judge_max_tokens: int = Field(default=48, ge=1, description="tokens per judgement")
    max_depth: int = Field(default=8, ge=1, description="steps per solution at most")
    max_nodes: int = Field(default=64, ge=1, description="candidate steps per problem at most")
    max_backtracks: int = Field(default=8, ge=0, description="backtracks per problem at most")
    max_tokens_per_problem: int | None = Field(default=None, ge=1, description="token budget per problem")
    max_cost_usd: float | None = Field(
        default=None, gt=0, description="run-wide budget: stop cleanly and seal what is finished"
    )
    seed: int = Field(default=0, description="seed of sampling, shuffling and rendering")
    prompt_template: str | None = Field(
        default=None, description="step prompt file (Jinja or {field} format)"
    )
    judge_template: str | None = Field(
        default=None, description="judge prompt file (Jinja or {field} format)"
    )
    reflect: Literal["teacher", "critique", "none"] = Field(
        default="teacher",
        description="reason of a backtrack: the judge's critique, else a self-check the teacher writes without "
        "the answer (teacher) | critiques only (critique) | no reasons (none)",
    )


class OutputConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    render: Literal["backtrack", "path", "search", "think"] = Field(
        default="backtrack", description="messages rendering: backtrack | path | search | think"
    )
    max_wrong_per_node: int = Field(default=2, ge=0, description="wrong attempts rendered per step")
    system: str | None = Field(
        default=None, description="system message put first in every record's messages"
    )
    name: str | None = Field(default=None, description="dataset name; default: derived from the source")
    out: Path = store_root()


class GenerateConfig(StageConfig):
    """Everything `rft generate` needs. Flat keys (the flags' names) are accepted beside the parts."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "generate"
    PARTS: ClassVar[tuple[Part, ...]] = (
        Part("problems", "Problems"),
        Part("teacher", "Teacher", rename={"spec": "teacher"}, only=(*JUDGE_OWN, *TEACHER_LIMITS)),
        judge_part("judge", "Teacher", JUDGE_HELP, only=JUDGE_OWN),
        Part(None, "Teacher"),
        Part("search", "Search"),
        Part("output", "Output"),
    )

    problems: ProblemsConfig
    teacher: TeacherConfig = Field(default_factory=TeacherConfig)
    judge: TeacherConfig | None = Field(default=None, description="the judge's teacher; default: the teacher")
    concurrency: int = Field(default=16, ge=1, description="problems searched at once")
    search: SearchConfig = Field(default_factory=SearchConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    def for_judge(self) -> TeacherConfig | None:
        """The judge's TeacherConfig (None: the teacher judges). Its endpoint: --judge-base-url /
        --judge-api-key-env when given; else the teacher's when the judge has the teacher's provider
        (same server), else the judge provider's defaults. Its limits, retries, prices and device are
        the teacher's unless its own section sets them; its reasoning effort is its own (never the
        teacher's: an o-series teacher's effort is refused by a gpt-4o-mini judge)."""
        j = self.judge
        if j is None:
            return None
        inherited = {
            k: getattr(self.teacher, k)
            for k in TeacherConfig.model_fields
            if k not in j.model_fields_set and k not in JUDGE_OWN
        }
        if j.base_url or j.api_key_env:
            endpoint = {}
        elif j.provider == self.teacher.provider:
            endpoint = {"base_url": self.teacher.base_url, "api_key_env": self.teacher.api_key_env}
        else:
            endpoint = {"base_url": None, "api_key_env": None}
        return j.model_copy(update={**inherited, **endpoint})

    def identity(self, source_fingerprint: str | None) -> str:
        """A stable id of what this config produces: same name + same config -> same run. Computed over
        the flat names (as before configs were nested), so old runs keep their ids."""
        data = {
            k: v
            for k, v in self.flat().items()
            if k not in NON_SEMANTIC and not (k in LATER_OPTIONS and v is None)
        }
        data["source_fingerprint"] = source_fingerprint
        blob = json.dumps(data, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]
