"""The generate runner end to end (in process) with a scripted teacher: sealing, resume, budgets,
dry run, per-problem failures, config files."""

from __future__ import annotations

import json

import pytest
from test_search import SCRIPT
from test_search_support import ScriptedTeacher

from rft.config import load_config
from rft.errors import ConfigError, RftError, TeacherError
from rft.generate.config import GenerateConfig
from rft.generate.runner import GenerateRun, default_name, teacher_options
from rft.schemas import Problem, check_integrity
from rft.store import Store

PROBLEMS = [Problem(id=f"p{i}", question=f"What is 3 + {i}? ({i})", answer=str(3 + i)) for i in range(6)]
# the script's B1 answers 7, so p4 is solved correctly; A1 answers 5, so p2 gets it "right" via A1


class Crash(Exception):
    """Stands in for a kill in the middle of a run (the real SIGKILL test is in test_generate_cli)."""


class Interrupting(ScriptedTeacher):
    """Crashes on the `after`-th step call, in the middle of a run."""

    def __init__(self, after: int) -> None:
        super().__init__(SCRIPT)
        self.after = after

    async def chat(self, messages, **kw):
        if "Reply with OK" not in messages[-1]["content"]:
            self.after -= 1
            if self.after < 0:
                raise Crash
        return await super().chat(messages, **kw)


def make_cfg(tmp_path, **kw) -> GenerateConfig:
    base = dict(problems="scripted", name="toy", out=str(tmp_path / "out"), concurrency=1, validator="answer")
    base.update(kw)
    return GenerateConfig(**base)


def run(cfg, teacher=None, problems=PROBLEMS, dry=False):
    return GenerateRun(
        cfg,
        ["rft", "generate"],
        teacher=teacher or ScriptedTeacher(SCRIPT),
        judge=ScriptedTeacher(SCRIPT) if cfg.judge else None,
        progress=False,
        problems=problems,
    ).execute(dry=dry)


def comparable(rec: dict) -> dict:
    rec = json.loads(json.dumps(rec))
    rec["outcome"].pop("wall_time_s")
    return rec


def test_seals_a_version_with_manifest_card_and_records(tmp_path, capsys):
    res = run(make_cfg(tmp_path))
    assert res.ref == "toy@v1"
    loaded = Store(tmp_path / "out").load_version("toy")
    assert [r.id for r in loaded.records] == [p.id for p in PROBLEMS]
    for r in loaded.records:
        check_integrity(r.trace)
        assert r.render == "backtrack" and [m.role for m in r.messages] == ["user", "assistant"]
    m = loaded.manifest
    assert m.stage == "generate" and m.teacher == "local:smollm2-135m" and m.validator == "answer"
    assert m.counts["problems"] == 6 and m.counts["solved"] >= 2
    assert m.counts["correct"] == sum(r.outcome.correct is True for r in loaded.records)
    assert m.counts["mean_backtracks"] > 0
    assert m.config["strategy"] == "dfs" and m.cost_usd is not None and m.cost_usd > 0
    assert m.metadata["run_id"] == res.run_id
    card = (res.path / "README.md").read_text()
    assert "How these traces were made" in card and "depth-first" in card
    printed = capsys.readouterr().out
    assert f"wrote {res.path}" in printed


def test_interrupt_then_resume_equals_uninterrupted(tmp_path):
    run(make_cfg(tmp_path / "a"))
    cfg = make_cfg(tmp_path / "b")
    with pytest.raises(Crash):
        run(cfg, Interrupting(after=25))
    store = Store(tmp_path / "b" / "out")
    assert store.versions("toy") == []  # nothing sealed
    (run_,) = store.runs("toy")
    done = run_.done_ids()
    assert 0 < len(done) < len(PROBLEMS)
    teacher = ScriptedTeacher(SCRIPT)
    resumed = run(cfg, teacher)
    asked = {m for m in teacher.calls}
    assert resumed.run_id == run_.id
    # finished problems were not searched again: fewer calls than a full run
    full = ScriptedTeacher(SCRIPT)
    run(make_cfg(tmp_path / "c"), full)
    assert len(teacher.calls) < len(full.calls) and asked
    a = Store(tmp_path / "a" / "out").load_version("toy").records
    b = Store(tmp_path / "b" / "out").load_version("toy").records
    assert [comparable(r.model_dump(mode="json")) for r in a] == [
        comparable(r.model_dump(mode="json")) for r in b
    ]


def test_rerun_after_seal_does_nothing(tmp_path, capsys):
    cfg = make_cfg(tmp_path)
    first = run(cfg)
    again = run(cfg)
    assert again.ref == first.ref
    assert Store(tmp_path / "out").versions("toy") == [1]
    assert "already sealed" in capsys.readouterr().out


def test_max_cost_stops_cleanly_and_seals_finished(tmp_path, capsys):
    res = run(make_cfg(tmp_path, max_cost_usd=0.02))
    assert res.counts["records"] < 6
    loaded = Store(tmp_path / "out").load_version("toy")
    assert loaded.manifest.metadata["stopped"] == "max_cost_usd"
    assert all(r.outcome.stop_reason != "max_cost_usd" for r in loaded.records)
    assert "max_cost_usd" in capsys.readouterr().err


def test_dry_run_calls_nobody_and_writes_nothing(tmp_path, capsys):
    teacher = ScriptedTeacher(SCRIPT)
    assert run(make_cfg(tmp_path), teacher, dry=True) is None
    assert teacher.calls == []
    assert not (tmp_path / "out").exists()
    printed = capsys.readouterr().out
    assert "problems: 6" in printed and "upper bound" in printed


class Failing(ScriptedTeacher):
    async def chat(self, messages, **kw):
        if "(2)" in messages[-1]["content"]:
            raise TeacherError("server said 500 after 4 retries")
        return await super().chat(messages, **kw)


def test_per_problem_failure_is_an_event_not_a_record(tmp_path):
    """A failed problem is not data: the run is kept unsealed and the failure is an event in it
    (the rest of this rule is in test_outages.py)."""
    with pytest.raises(RftError, match=r"1 of 6 problems failed \(server said 500 after 4 retries\)"):
        run(make_cfg(tmp_path), Failing(SCRIPT))
    store = Store(tmp_path / "out")
    (run_,) = store.runs("toy")
    assert store.versions("toy") == [] and "p2" not in run_.done_ids() and len(run_.done_ids()) == 5
    [event] = [e for e in run_.lines() if e["type"] == "problem_failed"]
    assert event["problem"] == "p2" and event["error"] == "server said 500 after 4 retries"


class Unreachable(ScriptedTeacher):
    async def chat(self, messages, **kw):
        raise TeacherError("cannot reach http://127.0.0.1:9 (connection refused)")


def test_unreachable_teacher_fails_before_the_run(tmp_path):
    with pytest.raises(TeacherError, match="connection refused"):
        run(make_cfg(tmp_path), Unreachable(SCRIPT))
    store = Store(tmp_path / "out")
    assert store.versions("toy") == [] and all(r.done_ids() == set() for r in store.runs("toy"))


def test_bad_template_field_and_config_file(tmp_path):
    tpl = tmp_path / "step.txt"
    tpl.write_text("Solve {question} using {hint}")
    with pytest.raises(ConfigError, match="unknown template field 'hint'"):
        run(make_cfg(tmp_path, prompt_template=str(tpl)))
    cfgfile = tmp_path / "gen.yaml"
    cfgfile.write_text("problems: demo\nbranches: 5\nstrategy: beam\napi-key-env: MY_KEY\n")
    cfg = load_config(GenerateConfig, cfgfile, {"branches": 2, "strategy": None})
    assert (cfg.search.branches, cfg.search.strategy, cfg.teacher.api_key_env) == (2, "beam", "MY_KEY")
    toml = tmp_path / "gen.toml"
    toml.write_text('[generate]\nproblems = "demo"\nthreshold = 0.7\n')
    assert load_config(GenerateConfig, toml, {}).search.threshold == 0.7
    cfgfile.write_text("problems: demo\nbranchez: 5\n")
    with pytest.raises(ConfigError, match="unknown option 'branchez'"):
        load_config(GenerateConfig, cfgfile, {})
    with pytest.raises(ConfigError, match="--strategy"):
        load_config(GenerateConfig, None, {"problems": "demo", "strategy": "bfs"})
    with pytest.raises(ConfigError, match="--api-key-env"):
        load_config(GenerateConfig, None, {"problems": "demo", "api_key_env": "sk-abc123 def"})


def test_same_config_same_run_other_config_other_run(tmp_path):
    a = make_cfg(tmp_path)
    assert a.identity("fp") == make_cfg(tmp_path, concurrency=8).identity("fp")
    assert a.identity("fp") != make_cfg(tmp_path, branches=4).identity("fp")
    assert a.identity("fp") != a.identity("other")


def test_default_names():
    assert default_name("demo") == "demo"
    assert default_name("/work/shared/benchmarks/gsm8k/train.jsonl") == "gsm8k-train"
    assert default_name("hf:openai/gsm8k") == "openai-gsm8k"


def test_resume_by_run_id_uses_the_saved_config(tmp_path):
    cfg = make_cfg(tmp_path, branches=3)
    with pytest.raises(Crash):
        run(cfg, Interrupting(after=25))
    (run_,) = Store(tmp_path / "out").runs("toy")
    other = make_cfg(tmp_path, branches=2, concurrency=3)  # different flags: the saved config wins
    res = GenerateRun(
        other,
        ["rft", "generate", "--resume", run_.id],
        resume=run_.id,
        teacher=ScriptedTeacher(SCRIPT),
        progress=False,
        problems=PROBLEMS,
    ).execute()
    assert res.run_id == run_.id and res.ref == "toy@v1"
    loaded = Store(tmp_path / "out").load_version("toy")
    assert loaded.manifest.config["branches"] == 3 and loaded.manifest.config["concurrency"] == 3
    assert len({r.id for r in loaded.records}) == len(PROBLEMS) == len(loaded.records)


def test_resume_takes_the_non_semantic_options_given_now(tmp_path):
    """--timeout and --max-retry-wait given with --resume apply to the resumed run (they change how it
    runs, not what it produces); options left out keep the saved values."""
    cfg = make_cfg(tmp_path, timeout_s=30.0, max_retries=2)
    with pytest.raises(Crash):
        run(cfg, Interrupting(after=25))
    (run_,) = Store(tmp_path / "out").runs("toy")
    seen = {}
    given = GenerateConfig(
        problems="<from run>", out=str(tmp_path / "out"), timeout_s=5.0, max_retry_wait_s=7.0
    )
    resumed = GenerateRun(
        given, ["rft", "generate", "--resume", run_.id], resume=run_.id, teacher=ScriptedTeacher(SCRIPT),
        progress=False, problems=PROBLEMS,
    )  # fmt: skip
    resumed.execute()
    c, _ = teacher_options(resumed.cfg)  # what the resumed run makes its teacher with
    seen.update(timeout_s=c.timeout_s, max_retry_wait_s=c.max_retry_wait_s, max_retries=c.max_retries)
    assert seen == {"timeout_s": 5.0, "max_retry_wait_s": 7.0, "max_retries": 2}


@pytest.mark.parametrize("strategy", ["beam", "best-first", "sample"])
def test_every_strategy_seals_valid_records(tmp_path, strategy):
    teacher = ScriptedTeacher(SCRIPT, samples=["3+4=7. Final answer: 7", "Final answer: 8"])
    res = run(make_cfg(tmp_path, strategy=strategy, samples=2, render="search"), teacher)
    loaded = Store(tmp_path / "out").load_version("toy")
    assert len(loaded.records) == 6 and res.counts["records"] == 6
    for r in loaded.records:
        check_integrity(r.trace)
        assert r.trace.strategy == strategy and r.render == "search"
    if strategy == "sample":
        assert res.counts["samples"] == 12 and res.counts["samples_correct"] == 2  # p4 (7) and p5 (8)
        assert "rejection sampling" in (res.path / "README.md").read_text()


def test_shards_with_field_mapping_merge_into_the_whole_set(tmp_path):
    """`--shard i/n` splits a job across machines; `--field` maps columns; merging the parts gives
    every problem exactly once."""
    src = tmp_path / "mine" / "problems.jsonl"
    src.parent.mkdir()
    src.write_text("".join(json.dumps({"q": p.question, "gold": p.answer}) + "\n" for p in PROBLEMS))
    refs = []
    for i in range(2):
        cfg = make_cfg(
            tmp_path, problems=str(src), fields={"question": "q", "answer": "gold"}, shard=f"{i}/2"
        )
        cfg = cfg.model_copy(update={"output": cfg.output.model_copy(update={"name": None})})
        res = GenerateRun(cfg, ["rft", "generate"], teacher=ScriptedTeacher(SCRIPT), progress=False).execute()
        assert res.name == f"mine-problems-shard{i}of2"
        refs.append(res.ref)
    store = Store(tmp_path / "out")
    parts = [store.load_ref(r).records for r in refs]
    assert parts[0] and parts[1] and not {r.id for r in parts[0]} & {r.id for r in parts[1]}
    merged = store.merge("problems", refs)
    loaded = store.load_version("problems")
    assert merged.ref == "problems@v1"
    assert sorted(r.problem.question for r in loaded.records) == sorted(p.question for p in PROBLEMS)
    assert {r.problem.answer for r in loaded.records} == {p.answer for p in PROBLEMS}
    with pytest.raises(ConfigError, match="--shard"):
        make_cfg(tmp_path, shard="2/2")


def test_judge_endpoint(tmp_path):
    """The judge talks to --judge-base-url when given; else to the teacher's server when it has the
    teacher's provider; else to its provider's default endpoint."""
    base = dict(problems="demo", teacher="openai:big", base_url="http://a:8000/v1", api_key_env="A_KEY")
    same = GenerateConfig(**base, judge="openai:small").for_judge()
    assert (same.base_url, same.api_key_env) == ("http://a:8000/v1", "A_KEY")
    other = GenerateConfig(**base, judge="anthropic:claude-x").for_judge()
    assert (other.base_url, other.api_key_env) == (None, None)
    own = GenerateConfig(
        **base, judge="openai:small", judge_base_url="http://b/v1", judge_api_key_env="B_KEY"
    )
    assert (own.for_judge().base_url, own.for_judge().api_key_env) == ("http://b/v1", "B_KEY")
    assert own.teacher.base_url == "http://a:8000/v1"  # the teacher's config is unchanged
    with pytest.raises(ConfigError, match="--judge-base-url"):
        load_config(GenerateConfig, None, {"problems": "demo", "judge_base_url": "http://b/v1"})
    with pytest.raises(ConfigError, match="--judge-api-key-env"):
        load_config(
            GenerateConfig,
            None,
            {"problems": "demo", "judge": "openai:x", "judge_api_key_env": "sk-live key"},
        )

    cfg = make_cfg(
        tmp_path, validator="judge", teacher="openai:big", base_url="http://a/v1", judge="anthropic:j"
    )
    run(cfg, problems=PROBLEMS[:1])
    seen = {options.spec: options.base_url for options in teacher_options(cfg)}
    assert seen == {"openai:big": "http://a/v1", "anthropic:j": None}


def test_dry_run_prices_teacher_and_judge_each_at_their_own_rate(tmp_path, capsys):
    from rft.generate.estimate import estimate

    prices = tmp_path / "prices.yaml"
    prices.write_text("openai:t: [1.0, 2.0]\nanthropic:j: [10.0, 20.0]\n")
    cfg = make_cfg(
        tmp_path, teacher="openai:t", judge="anthropic:j", validator="composite", prices_file=str(prices)
    )
    assert run(cfg, ScriptedTeacher(SCRIPT), dry=True) is None
    est = estimate(PROBLEMS, cfg.search, judged=True, judge_max_tokens=cfg.search.judge_max_tokens)
    teacher_usd = (est.teacher_prompt_tokens * 1.0 + est.teacher_completion_tokens * 2.0) / 1e6
    judge_usd = (est.judge_prompt_tokens * 10.0 + est.judge_completion_tokens * 20.0) / 1e6
    printed = " ".join(capsys.readouterr().out.split())
    assert (
        f"teacher openai:t: {est.teacher_calls:,} calls" in printed
        and f"cost <= ${teacher_usd:,.4f}" in printed
    )
    assert (
        f"judge anthropic:j: {est.judge_calls:,} calls" in printed and f"cost <= ${judge_usd:,.4f}" in printed
    )
    assert f"upper bound cost: ${teacher_usd + judge_usd:,.4f}" in printed
    # every candidate of every expansion is judged; the teacher may also write one self-check per
    # candidate whose final answer fails (--reflect teacher, the default)
    expansions = est.teacher_calls // (1 + cfg.search.branches)
    assert est.judge_calls == expansions * cfg.search.branches
    no_checks = estimate(
        PROBLEMS,
        cfg.search.model_copy(update={"reflect": "critique"}),
        judged=True,
        judge_max_tokens=cfg.search.judge_max_tokens,
    )
    assert no_checks.teacher_calls == expansions


def test_a_credential_in_the_base_url_is_never_stored_and_resume_asks_for_it(tmp_path):
    url = "https://bob:pw123@llm.example.com/v1"
    cfg = make_cfg(tmp_path, base_url=url)
    with pytest.raises(Crash):
        run(cfg, Interrupting(after=10))
    out = tmp_path / "out"
    assert not [p for p in out.rglob("*") if p.is_file() and b"pw123" in p.read_bytes()]
    (run_,) = Store(out).runs("toy")

    def resume(**kw):
        return GenerateRun(
            make_cfg(tmp_path, **kw), ["rft", "generate", "--resume", run_.id], resume=run_.id,
            teacher=ScriptedTeacher(SCRIPT), progress=False, problems=PROBLEMS,
        ).execute()  # fmt: skip

    with pytest.raises(ConfigError, match="credential in --base-url"):
        resume()
    assert resume(base_url=url).ref == "toy@v1"
    assert not [p for p in out.rglob("*") if p.is_file() and b"pw123" in p.read_bytes()]


def test_the_judge_never_gets_the_teachers_reasoning_effort(tmp_path, monkeypatch):
    """--reasoning-effort is for the teacher (e.g. an o-series model); a gpt-4o-mini judge would refuse
    it. The judge has its own TeacherConfig: the teacher's endpoint and limits, not its effort."""
    from rft.teachers import make_teacher
    from rft.teachers.base import ChatRequest

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    flags = {"problems": "demo", "teacher": "openai:o3-mini", "judge": "openai:gpt-4o-mini"}
    cfg = load_config(GenerateConfig, None, {**flags, "reasoning_effort": "low", "rpm": 50})
    judge = cfg.for_judge()
    assert judge.reasoning_effort is None and cfg.teacher.reasoning_effort == "low"
    assert judge.rpm == 50  # limits are still the teacher's
    req = ChatRequest([{"role": "user", "content": "hi"}], 1, 0.7, 8, None, None)
    assert "reasoning_effort" not in make_teacher(judge.spec, judge).body(req)
    teacher_body = make_teacher(cfg.teacher.spec, cfg.teacher).body(req)
    assert teacher_body["reasoning_effort"] == "low"
    own = load_config(GenerateConfig, None, {**flags, "judge_reasoning_effort": "minimal"}).for_judge()
    assert own.reasoning_effort == "minimal"

    cfg = make_cfg(tmp_path, validator="judge", teacher="openai:o3", judge="openai:j", reasoning_effort="low")
    run(cfg, problems=PROBLEMS[:1])
    seen = {options.spec: options.reasoning_effort for options in teacher_options(cfg)}
    assert seen == {"openai:o3": "low", "openai:j": None}
