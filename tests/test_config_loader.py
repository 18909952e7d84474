"""One loader for every command: defaults, then a YAML/TOML file (flat keys as the flags are named, or
nested sections), then the flags given; the CLI options come from the config fields."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

import rft.teachers.ping as ping_mod
from rft.cli import app
from rft.config import load_config
from rft.errors import ConfigError
from rft.generate.config import GenerateConfig, SearchConfig
from rft.teachers.config import TeacherConfig
from rft.validate.config import ValidateConfig


def test_nested_sections_and_flat_keys_give_the_same_config_and_run_id(tmp_path):
    nested = tmp_path / "nested.yaml"
    nested.write_text(
        "problems: {problems: demo, limit: 2}\nteacher: {spec: 'openai:x', transport: sdk}\n"
        "search: {branches: 2, strategy: beam}\njudge: {spec: 'openai:j'}\n"
    )
    flat = tmp_path / "flat.toml"
    flat.write_text('[generate]\nproblems = "demo"\nlimit = 2\nteacher = "openai:x"\nbranches = 2\n'
                    'strategy = "beam"\njudge = "openai:j"\n')  # fmt: skip
    a = load_config(GenerateConfig, nested, {"max_depth": 3})
    b = load_config(GenerateConfig, flat, {"max_depth": 3})
    assert a.teacher.transport == "sdk" and b.teacher.transport == "auto"  # a nested-only setting
    assert (a.search.branches, a.search.max_depth, a.judge.spec) == (2, 3, "openai:j")
    assert a.identity("fp") == b.identity("fp") and a.flat() == b.flat()


def test_validate_takes_a_config_file(tmp_path):
    cfg_file = tmp_path / "v.yaml"
    cfg_file.write_text("validate:\n  method: ngram13\n  dedup-threshold: 0.5\n  no_such: 1\n")
    res = CliRunner().invoke(app, ["validate", "ds", "--config", str(cfg_file), "--out", str(tmp_path)])
    assert isinstance(res.exception, ConfigError) and "unknown option 'no_such'" in str(res.exception)
    cfg_file.write_text("validate:\n  method: ngram13\n  dedup-threshold: 0.5\n")
    cfg = load_config(ValidateConfig, cfg_file, {"dedup_threshold": 0.7, "benchmarks": "gsm8k"})
    assert (cfg.method, cfg.dedup_threshold, cfg.benchmarks) == ("ngram13", 0.7, ["gsm8k"])


def test_ping_builds_its_teacher_config_with_the_shared_defaults(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(ping_mod, "ping", lambda spec, opts, **kw: seen.append(opts) or 1 / 0)
    runner = CliRunner()
    runner.invoke(app, ["teacher", "ping", "openai:x"])
    assert seen[-1].max_retries == TeacherConfig().max_retries == 4 and seen[-1].timeout_s == 60
    f = tmp_path / "t.yaml"
    f.write_text("timeout_s: 9\nmax_retries: 1\n")
    runner.invoke(app, ["teacher", "ping", "openai:x", "--config", str(f), "--retries", "3"])
    assert (seen[-1].timeout_s, seen[-1].max_retries, seen[-1].spec) == (9, 3, "openai:x")


def test_options_come_from_the_field_definitions():
    cmd = typer.main.get_command(app).commands["generate"]
    by_flag = {o: p for p in cmd.params for o in p.opts}
    assert by_flag["--branches"] is by_flag["-k"]
    assert by_flag["--branches"].help.startswith(SearchConfig.model_fields["branches"].description)
    assert "(default: 3)" in by_flag["--branches"].help
    assert by_flag["--timeout"].help.startswith(TeacherConfig.model_fields["timeout_s"].description)
    assert "--judge-reasoning-effort" in by_flag and "--config" in by_flag
