"""Every command that takes options takes `--config FILE` (YAML or TOML, flat keys named like the flags
or the command's section/parts): the file gives what the flags give, a flag overrides the file, a bad
key or value is one line naming it and the file, and the resolved config is saved beside the output
(`<output>.config.yaml` for an export, the manifest of a sealed version) and loads back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record, make_records

from rft.config import config_beside, config_text, load_config
from rft.generate.config import GenerateConfig
from rft.problems.config import PreviewConfig
from rft.store import Store
from rft.store.config import ExportConfig, MergeConfig, ShowConfig, StoreConfig
from rft.validate.config import ValidateConfig
from rft.validate.families import synthetic_record

RFT = str(Path(sys.executable).with_name("rft"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "store")
    s.seal("demo", [*make_records(3), make_record("hard", solved=False)], manifest={"teacher": "local:x"})
    s.seal("shard", make_records(2, prefix="s"), manifest={"teacher": "local:x"})
    return s


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def to_toml(data: dict) -> str:
    """A flat or one-level nested mapping of plain values as TOML (JSON values are TOML values)."""
    top = [f"{k} = {json.dumps(v)}" for k, v in data.items() if not isinstance(v, dict)]
    tables = [
        f"[{k}]\n" + "".join(f"{kk} = {json.dumps(vv)}\n" for kk, vv in v.items())
        for k, v in data.items()
        if isinstance(v, dict)
    ]
    return "\n".join([*top, *tables]) + "\n"


def ok(result: tuple[int, str, str]) -> str:
    code, out, err = result
    assert code == 0, err
    return out


def one_line(result: tuple[int, str, str], *needles: str) -> str:
    code, out, err = result
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    for n in needles:
        assert n in lines[0], (n, lines[0])
    return lines[0]


# --- rft datasets export: the file, the flags, the resolved config beside the output -------------
EXPORT_FILES = {
    "flat.yaml": "out: {root}\nformat: prompt-completion\ntrainable-only: true\nsystem: Be brief.\n",
    "section.yaml": "export:\n  out: {root}\n  format: prompt-completion\n  trainable_only: true\n"
    "  system: Be brief.\n",
    "flat.toml": 'out = "{root}"\nformat = "prompt-completion"\ntrainable_only = true\nsystem = "Be brief."\n',
    "section.toml": '[export]\nout = "{root}"\nformat = "prompt-completion"\ntrainable-only = true\n'
    'system = "Be brief."\n',
}


@pytest.mark.parametrize("name", list(EXPORT_FILES))
def test_export_config_file_gives_what_the_flags_give(capsys, tmp_path, store, name):
    by_flags = tmp_path / "flags.jsonl"
    flag_args = ["--format", "prompt-completion", "--trainable-only", "--system", "Be brief."]
    ok(rft(capsys, "datasets", "export", "demo", *flag_args, "-o", str(by_flags), "--out", str(store.root)))
    cfg_file = write(tmp_path / name, EXPORT_FILES[name].format(root=store.root))
    by_file = tmp_path / "file.jsonl"
    out = ok(rft(capsys, "datasets", "export", "demo", "--config", str(cfg_file), "-o", str(by_file)))
    assert by_file.read_bytes() == by_flags.read_bytes()
    assert f"config: {config_beside(by_file)}" in " ".join(out.split())
    # the resolved configs beside the two outputs differ only in where they wrote
    a = yaml.safe_load(config_beside(by_flags).read_text())
    b = yaml.safe_load(config_beside(by_file).read_text())
    assert {**a, "output": None} == {**b, "output": None}
    assert b["format"] == "prompt-completion" and b["trainable_only"] is True and b["system"] == "Be brief."


def test_export_resolved_config_loads_back_and_reproduces_the_file(capsys, tmp_path, store):
    target = tmp_path / "exp" / "demo.parquet"
    ok(
        rft(
            capsys,
            "datasets",
            "export",
            "demo",
            "-f",
            "stepwise",
            "-o",
            str(target),
            "--out",
            str(store.root),
        )
    )
    saved = config_beside(target)
    assert saved == tmp_path / "exp" / "demo.parquet.config.yaml"
    text = saved.read_text()
    assert text.startswith("# rft datasets export demo@v1: the resolved config")
    assert f"again: rft datasets export demo@v1 --config {saved}" in text
    flags = {"format": "stepwise", "output": target, "out": store.root}
    assert load_config(ExportConfig, saved, {}) == load_config(ExportConfig, None, flags)
    first = target.read_bytes()
    target.unlink()
    ok(rft(capsys, "datasets", "export", "demo@v1", "--config", str(saved)))
    assert target.read_bytes() == first and saved.read_text() == text


def test_export_flag_overrides_the_file(capsys, tmp_path, store):
    cfg_file = write(tmp_path / "e.yaml", f"out: {store.root}\nformat: prompt-completion\n")
    target = tmp_path / "o.jsonl"
    ok(
        rft(
            capsys,
            "datasets",
            "export",
            "demo",
            "--config",
            str(cfg_file),
            "-f",
            "messages",
            "-o",
            str(target),
        )
    )
    assert "messages" in json.loads(target.read_text().splitlines()[0])
    assert yaml.safe_load(config_beside(target).read_text())["format"] == "messages"


def test_export_secrets_never_reach_the_saved_config(capsys, tmp_path, store, monkeypatch):
    secret = "sk-live-abcdefghijklmnopqrstuvwx"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    target = tmp_path / "o.jsonl"
    ok(rft(capsys, "datasets", "export", "demo", "--system", f"key {secret}", "-o", str(target),
           "--out", str(store.root)))  # fmt: skip
    assert secret not in config_beside(target).read_text()


# --- rft datasets merge: the resolved config in the manifest --------------------------------------
@pytest.mark.parametrize(
    "name, text",
    [
        ("m.yaml", "out: {root}\nallow-unvalidated: true\n"),
        ("m.toml", '[merge]\nout = "{root}"\nallow_unvalidated = true\n'),
    ],
)
def test_merge_config_file_and_flags_record_the_same_resolved_config(capsys, tmp_path, store, name, text):
    ok(
        rft(
            capsys, "datasets", "merge", "a", "demo", "shard", "--allow-unvalidated", "--out", str(store.root)
        )
    )
    cfg_file = write(tmp_path / name, text.format(root=store.root))
    ok(rft(capsys, "datasets", "merge", "b", "demo", "shard", "--config", str(cfg_file)))
    a, b = store.read_manifest("a").config, store.read_manifest("b").config
    assert a == b == {"merge": ["demo@v1", "shard@v1"], "out": str(store.root), "allow_unvalidated": True}
    options = {k: v for k, v in b.items() if k != "merge"}
    assert MergeConfig.model_validate(options) == load_config(MergeConfig, cfg_file, {})


def test_merge_flag_overrides_the_file(capsys, tmp_path, store):
    store.seal("v", make_records(1, prefix="v"), manifest={"stage": "validate", "validated": True})
    cfg_file = write(tmp_path / "m.yaml", f"out: {store.root}\nallow_unvalidated: false\n")
    one_line(rft(capsys, "datasets", "merge", "v", "demo", "--config", str(cfg_file)), "--allow-unvalidated")
    ok(rft(capsys, "datasets", "merge", "v", "demo", "--config", str(cfg_file), "--allow-unvalidated"))
    assert store.read_manifest("v").config["allow_unvalidated"] is True


# --- the viewers: list, runs, show ----------------------------------------------------------------
@pytest.mark.parametrize(
    "args, text",
    [
        (["list"], "out: {root}\n"),
        (["runs"], 'out = "{root}"\n'),
        (["show", "demo"], "show:\n  out: {root}\n  rows: 2\n"),
        (["show", "demo", "-r", "hard"], 'out = "{root}"\nevents = true\nrender = "backtrack"\n'),
    ],
    ids=["list", "runs", "show", "show-record"],
)
def test_viewers_take_a_config_file(capsys, tmp_path, store, args, text):
    toml = text.startswith("out =")
    cfg_file = write(tmp_path / ("c.toml" if toml else "c.yaml"), text.format(root=store.root))
    flags = {"list": [], "runs": [], "show": ["--rows", "2"]}.get(args[0], [])
    if "-r" in args:
        flags = ["--events", "--render", "backtrack"]
    store.open_run("demo", "wip-1")
    by_flags = ok(rft(capsys, "datasets", *args, *flags, "--out", str(store.root)))
    by_file = ok(rft(capsys, "datasets", *args, "--config", str(cfg_file)))
    assert by_file == by_flags and "demo" in by_file


def test_show_flag_overrides_the_file(capsys, tmp_path, store):
    cfg_file = write(tmp_path / "s.yaml", f"out: {store.root}\nrows: 1\n")
    out = ok(rft(capsys, "datasets", "show", "demo", "--config", str(cfg_file), "--rows", "3"))
    assert "first 3 of 4 records" in out


# --- rft problems preview ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, text",
    [
        ("flat.yaml", "preset: gsm8k\nshuffle: true\nseed: 4\nshard: 1/3\nlimit: 3\n"),
        (
            "nested.yaml",
            "preview:\n  source: {preset: gsm8k, shuffle: true, shard: 1/3}\n  seed: 4\n  limit: 3\n",
        ),
        ("flat.toml", 'preset = "gsm8k"\nshuffle = true\nseed = 4\nshard = "1/3"\nlimit = 3\n'),
        ("nested.toml", 'seed = 4\nlimit = 3\n[source]\npreset = "gsm8k"\nshuffle = true\nshard = "1/3"\n'),
    ],
)
def test_preview_config_file_gives_what_the_flags_give(capsys, tmp_path, bench_dir, name, text):
    src = str(bench_dir / "gsm8k" / "test.jsonl")
    flags = ["--preset", "gsm8k", "--shuffle", "--seed", "4", "--shard", "1/3", "--limit", "3"]
    by_flags = ok(rft(capsys, "problems", "preview", src, *flags))
    by_file = ok(rft(capsys, "problems", "preview", src, "--config", str(write(tmp_path / name, text))))
    assert by_file == by_flags and "440 problems in shard 1/3; showing 3" in by_flags


def test_preview_fields_from_the_file_and_a_flag_over_them(capsys, tmp_path):
    rows = write(
        tmp_path / "rows.jsonl", '{"problem": "a?", "solution": "1"}\n{"problem": "b?", "solution": "2"}\n'
    )
    cfg_file = write(tmp_path / "p.yaml", "fields: {question: problem, answer: solution}\nlimit: 1\n")
    out = ok(rft(capsys, "problems", "preview", str(rows), "--config", str(cfg_file)))
    assert "2 problems; showing 1" in out
    out = ok(rft(capsys, "problems", "preview", str(rows), "--config", str(cfg_file), "--limit", "2"))
    assert "2 problems; showing 2" in out


# --- bad files: one line, exit 2, naming the key and the file --------------------------------------
BAD = [
    (["datasets", "export", "demo", "-o", "{tmp}/o.jsonl"], "formt: messages\n", ["unknown option 'formt'"]),
    (["datasets", "export", "demo", "-o", "{tmp}/o.jsonl"], "trainable_only: maybe\n", ["--trainable-only"]),
    (["datasets", "merge", "m", "demo"], "allow_unvalidated: [1]\n", ["--allow-unvalidated"]),
    (["datasets", "merge", "m", "demo"], "merge:\n  allow: true\n", ["unknown option 'allow'"]),
    (["datasets", "list"], "root: x\n", ["unknown option 'root'"]),
    (["datasets", "runs"], "out: [1, 2]\n", ["--out"]),
    (["datasets", "show", "demo"], "rows: many\n", ["--rows"]),
    (["datasets", "show", "demo"], "row: 3\n", ["unknown option 'row'"]),
    (["problems", "preview", "demo"], "limit: -1\n", ["--limit: must be >= 0"]),
    (["problems", "preview", "demo"], "shard: 9/2\n", ["--shard"]),
    (["problems", "preview", "demo"], "on_duplicate_id: maybe\n", ["--on-duplicate-id"]),
    (["problems", "preview", "demo"], "source: {problemz: x}\n", ["unknown option 'source.problemz'"]),
    (["validate", "demo"], "methd: ngram13\n", ["unknown option 'methd'"]),
    (["validate", "demo"], "dedup_threshold: high\n", ["--dedup-threshold"]),
    (["generate"], "problems: demo\nbranchez: 2\n", ["unknown option 'branchez'"]),
    (["generate"], "problems: demo\nsearch: {branches: lots}\n", ["--branches"]),
    (["teacher", "ping", "openai:x"], "timeout_s: soon\n", ["--timeout"]),
]


@pytest.mark.parametrize("suffix", [".yaml", ".toml"])
@pytest.mark.parametrize(
    "args, text, needles", BAD, ids=[f"{'-'.join(b[0][:2])}-{i}" for i, b in enumerate(BAD)]
)
def test_a_bad_key_or_value_in_the_file_is_one_line_naming_it_and_the_file(
    capsys, tmp_path, store, args, text, needles, suffix
):
    if suffix == ".toml":
        text = to_toml(yaml.safe_load(text))
    cfg_file = write(tmp_path / f"bad{suffix}", text)
    args = [a.format(tmp=tmp_path) for a in args]
    no_out = args[0] in ("generate", "teacher", "problems") or text.startswith("out")
    out_flag = [] if no_out else ["--out", str(store.root)]
    line = one_line(rft(capsys, *args, *out_flag, "--config", str(cfg_file)), *needles)
    assert str(cfg_file) in line


def test_the_origin_named_is_where_the_bad_value_came_from(capsys, tmp_path, store):
    cfg_file = write(tmp_path / "s.yaml", "rows: 2\n")
    line = one_line(rft(capsys, "datasets", "show", "demo", "--config", str(cfg_file), "--rows", "-1"))
    assert "--rows (command line)" in line and str(cfg_file) not in line
    cfg_file = write(tmp_path / "p.yaml", "seed: 1\n")
    line = one_line(rft(capsys, "problems", "preview", "demo", "--config", str(cfg_file), "--limit", "-1"))
    assert line.endswith("--limit: must be >= 0, got -1")


def test_a_missing_or_malformed_file_is_one_line(capsys, tmp_path, store):
    one_line(rft(capsys, "datasets", "list", "--config", str(tmp_path / "none.yaml")), "none.yaml")
    bad = write(tmp_path / "b.toml", "out = [\n")
    one_line(
        rft(capsys, "datasets", "export", "demo", "-o", "x.jsonl", "--config", str(bad)), "not valid TOML"
    )


# --- generate and validate: the resolved config in the manifest ------------------------------------
def test_validate_config_file_and_flags_record_the_same_config(capsys, tmp_path, bench_dir):
    s = Store(tmp_path / "store")
    rows = [json.loads(x) for x in (bench_dir / "gsm8k" / "train.jsonl").read_text().splitlines()[:4]]
    s.seal("demo", [synthetic_record(f"p{i}", r["question"], r["answer"]) for i, r in enumerate(rows)],
           manifest={"teacher": "local:x"})  # fmt: skip
    flags = ["--benchmarks", "gsm8k", "--benchmark-dir", str(bench_dir), "--method", "ngram13",
             "--dedup-threshold", "0.6", "--keep-unsolved"]  # fmt: skip
    ok(rft(capsys, "validate", "demo@v1", *flags, "--out", str(s.root)))
    cfg_file = write(
        tmp_path / "v.toml",
        f'[validate]\nbenchmarks = "gsm8k"\nbenchmark-dir = "{bench_dir}"\nmethod = "ngram13"\n'
        "dedup_threshold = 0.9\n",
    )
    # the same settings, the file's dedup threshold overridden by a flag: the seal finds v2 again
    out = ok(rft(capsys, "validate", "demo@v1", "--config", str(cfg_file), "--dedup-threshold", "0.6",
                 "--keep-unsolved", "--out", str(s.root)))  # fmt: skip
    assert "already sealed as demo@v2" in out and s.versions("demo") == [1, 2]
    saved = s.read_manifest("demo", 2).config
    by_flags = load_config(ValidateConfig, None, {"benchmarks": "gsm8k", "benchmark_dir": bench_dir,
                           "method": "ngram13", "dedup_threshold": 0.6, "keep_unsolved": True})  # fmt: skip
    assert saved == {"validate": by_flags.to_dict()}
    # the manifest's config, saved as a file, loads back into the same config
    back = write(tmp_path / "back.yaml", yaml.safe_dump(saved))
    assert load_config(ValidateConfig, back, {}).to_dict() == by_flags.to_dict()


def test_generate_config_file_and_flags_give_the_same_run_and_manifest(tmp_path):
    """Real runs of the local SmolLM2 teacher: the flags alone, then a nested YAML file with one of its
    values overridden by a flag; the same run id, and the manifest's config loads back."""
    common = ["--limit", "1", "--no-progress", "--max-tokens-per-sample", "8"]
    flags = ["--problems", "demo", "--strategy", "sample", "--samples", "1", "--validator", "answer",
             "--reflect", "none", "--seed", "3"]  # fmt: skip
    a = subprocess.run([RFT, "generate", *flags, *common, "--out", str(tmp_path / "a")], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)  # fmt: skip
    assert a.returncode == 0, a.stderr
    cfg_file = write(
        tmp_path / "g.yaml",
        "generate:\n  problems: {problems: demo}\n  search: {strategy: sample, samples: 1, validator: answer,"
        " reflect: none, seed: 9}\n",
    )
    b = subprocess.run([RFT, "generate", "--config", str(cfg_file), "--seed", "3", *common, "--out",
                        str(tmp_path / "b")], cwd=tmp_path, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert b.returncode == 0, b.stderr
    ma, mb = Store(tmp_path / "a").read_manifest("demo"), Store(tmp_path / "b").read_manifest("demo")
    assert {**ma.config, "out": None} == {**mb.config, "out": None}
    run_a = Store(tmp_path / "a").runs("demo")[0].id
    run_b = Store(tmp_path / "b").runs("demo")[0].id
    assert run_a == run_b
    cfg = load_config(GenerateConfig, cfg_file, {"seed": 3, "limit": 1, "max_tokens_per_sample": 8,
                      "out": str(tmp_path / "b")})  # fmt: skip
    assert mb.config == cfg.flat()
    back = write(tmp_path / "back.yaml", config_text(cfg))
    assert load_config(GenerateConfig, back, {}) == cfg


# --- the resolved file form of every config loads back ---------------------------------------------
@pytest.mark.parametrize(
    "model, flags",
    [
        (StoreConfig, {"out": "somewhere"}),
        (ShowConfig, {"record": "p1", "rows": 0, "events": True}),
        (MergeConfig, {"allow_unvalidated": True}),
        (ExportConfig, {"output": "x.parquet", "format": "stepwise", "trainable_only": True}),
        (PreviewConfig, {"source": {"problems": "demo"}, "fields": {"question": "q"}, "shuffle": True}),
        (
            GenerateConfig,
            {"problems": "demo", "judge": "openai:j", "judge_base_url": "http://h/v1", "branches": 5},
        ),
    ],
)
def test_resolved_config_text_loads_back_into_the_same_config(tmp_path, model, flags):
    cfg = load_config(model, None, flags)
    if model is GenerateConfig:  # a setting without a flag, in its part's section
        cfg = cfg.model_copy(update={"teacher": cfg.teacher.model_copy(update={"transport": "sdk"})})
        cfg.teacher.model_fields_set.add("transport")
    path = write(tmp_path / "c.yaml", config_text(cfg, ["a header"]))
    assert path.read_text().startswith("# a header\n")
    assert load_config(model, path, {}) == cfg
