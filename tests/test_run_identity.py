"""Run ids recorded from the code before configs were nested (commit f99fd42): the same options must
give the same run id, so `rft generate` resumes runs started before the change."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import rft.generate.runner as runner_mod
from rft.cli import app

YAML = """\
problems: data/gsm.jsonl
strategy: beam
branches: 4
beam-width: 3
limit: 20
shard: 1/3
shuffle: true
fields:
  question: problem
  answer: solution
teacher: openai:gpt-4o-mini
rpm: 500
"""
TOML = """\
[generate]
problems = "demo"
strategy = "sample"
samples = 2
validator = "answer"
max_cost_usd = 1.5
render = "think"
temperature = 0.3
"""
# name -> (flags, id with source fingerprint "fp-test", id with no fingerprint)
CASES = {
    "defaults": (["--problems", "demo"], "38bfdaaadbd4", "71d218221021"),
    "judge_reasoning_system": (
        ["--problems", "demo", "--teacher", "openai:o3-mini", "--judge", "openai:gpt-4o-mini",
         "--reasoning-effort", "low", "--base-url", "http://localhost:8000/v1", "--api-key-env", "MY_KEY",
         "--system", "You are a careful tutor.", "--validator", "judge", "-k", "2", "--threshold", "0.6",
         "--concurrency", "4", "--max-retries", "3"],
        "65fbd87c6a6f",
        "fcab32fbfa6d",
    ),
    "yaml_file_flags": (
        ["--config", "gen.yaml", "--max-depth", "5", "--field", "id=uid", "--seed", "7", "--timeout", "30",
         "--judge", "anthropic:claude-3-5-haiku", "--judge-base-url", "http://j/v1",
         "--judge-api-key-env", "J_KEY", "--reflect", "critique"],
        "92d0b7a19b6b",
        "449022942c6f",
    ),
    "toml_file": (
        ["--config", "gen.toml", "--system", "Be brief.", "--name", "mine", "--out", "elsewhere",
         "--max-tokens-per-problem", "900", "--prompt-template", "tpl.txt", "--on-duplicate-id", "rename",
         "--allow-test-split", "--preset", "gsm8k", "--prices-file", "./prices.yaml",
         "--max-wrong-per-node", "1"],
        "ca4041aa1f7a",
        "d21a3a79e8c5",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_run_id_unchanged(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "gen.yaml").write_text(YAML)
    (tmp_path / "gen.toml").write_text(TOML)
    got = {}

    class Capture:
        def __init__(self, cfg, *a, **k):
            self.cfg, self.run_id = cfg, None

        def execute(self, dry=False):
            got["ids"] = (self.cfg.identity("fp-test"), self.cfg.identity(None))

    monkeypatch.setattr(runner_mod, "GenerateRun", Capture)
    flags, with_fp, without_fp = CASES[case]
    res = CliRunner().invoke(app, ["generate", *flags])
    assert res.exit_code == 0, res.output
    assert got["ids"] == (with_fp, without_fp)


def test_nested_only_settings_survive_in_the_saved_config_and_on_resume(tmp_path):
    """A setting with no flag (`teacher: {transport: sdk}`) is kept in the run's saved config, so
    `--resume RUN_ID` without the config file runs with it, and the run id does not depend on it."""
    from rft.generate.config import GenerateConfig
    from rft.generate.resume import resumed_config
    from rft.store import Store

    cfg = GenerateConfig.model_validate(
        {"problems": "demo", "teacher": {"spec": "openai:gpt-4o-mini", "transport": "sdk"}}
    )
    saved = cfg.resolved()
    assert saved["teacher"] == {"spec": "openai:gpt-4o-mini", "transport": "sdk"}
    run = Store(tmp_path).open_run("demo", meta={"config": saved})
    again = resumed_config(GenerateConfig.model_validate({"problems": "demo"}), run)
    assert again.teacher.transport == "sdk" and again.teacher.spec == "openai:gpt-4o-mini"
    plain = GenerateConfig.model_validate({"problems": "demo", "teacher": "openai:gpt-4o-mini"})
    assert again.identity("fp") == plain.identity("fp") == cfg.identity("fp")


def test_resume_may_move_the_endpoints_and_a_list_with_a_credential_must_be_given_again(tmp_path):
    """`--resume RUN_ID --base-url ...` runs on the endpoints given now (a server moved, a replica
    added); a saved list of URLs with a credential taken out is refused unless given again."""
    import pytest

    from rft.errors import ConfigError
    from rft.generate.config import GenerateConfig
    from rft.generate.resume import resumed_config
    from rft.redaction import REDACTED
    from rft.store import Store

    two = ["http://a:8000/v1", "http://b:8000/v1"]
    cfg = GenerateConfig.model_validate({"problems": "demo", "teacher": "openai:m", "base_url": two})
    run = Store(tmp_path).open_run("demo", meta={"config": cfg.resolved()})
    assert resumed_config(GenerateConfig.model_validate({"problems": "demo"}), run).teacher.base_url == two
    moved = GenerateConfig.model_validate({"problems": "demo", "base_url": ["http://c:8000/v1", *two]})
    assert resumed_config(moved, run).teacher.base_urls == ["http://c:8000/v1", *two]

    secret = {**cfg.resolved(), "base_url": [two[0], f"http://b:8000/v1?api_key={REDACTED}"]}
    run2 = Store(tmp_path).open_run("demo2", meta={"config": secret})
    with pytest.raises(ConfigError, match="give --base-url again"):
        resumed_config(GenerateConfig.model_validate({"problems": "demo"}), run2)
    assert resumed_config(moved, run2).teacher.base_urls == ["http://c:8000/v1", *two]
