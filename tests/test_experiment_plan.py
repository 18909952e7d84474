"""`rft experiment plan`: the shipped recipes plan deterministically and in dependency order, each
cell one plain `rft` command; the shell and Slurm scripts are valid bash with one array task per
cell; bad recipes end with one line and exit 2 before anything runs. No model is loaded here."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)

from rft.experiment.cells import plan, waves
from rft.experiment.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


def _plan(path: Path | str, *sets: str):
    recipe, loc = load_recipe(path, list(sets))
    return recipe, plan(recipe, loc)


def test_the_four_recipes_are_shipped():
    assert {p.name for p in RECIPES} == {
        "lora-protocol.yaml",
        "backtrack-ablation.yaml",
        "reft.yaml",
        "cpu-smoke.yaml",
    }


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_planning_is_deterministic_and_dependency_ordered(path, tmp_path):
    _, a = _plan(path, f"out={tmp_path}")
    _, b = _plan(path, f"out={tmp_path}")
    assert [c.command for c in a] == [c.command for c in b]
    seen: set[str] = set()
    for c in a:
        assert set(c.deps) <= seen, f"{c.id} before its dependencies"
        seen.add(c.id)
        assert c.argv[0] == "rft" and c.argv[1] in ("generate", "validate", "train", "eval")
        assert Path(c.output).is_relative_to(tmp_path)
    outputs = [c.output for c in a]
    assert len(set(outputs)) == len(outputs)  # every cell has its own output folder
    from rft.cli import app  # every cell's command parses as the real CLI's (no cell is run)

    assert {c.argv[1] for c in a} <= {cmd.name for cmd in app.registered_commands}


def test_the_lora_protocol_plans_every_base_untuned_and_with_a_2x2_grid(tmp_path):
    recipe, cells = _plan(ROOT / "recipes" / "lora-protocol.yaml", f"out={tmp_path}")
    trains = [c for c in cells if c.stage == "train"]
    assert len(trains) == 3 * 4
    assert {(c.info["base"], c.info["rank"], c.info["alpha"]) for c in trains} == {
        (b, r, a) for b in recipe.bases for r in (4, 16) for a in (16, 32)
    }
    evals = [c for c in cells if c.stage == "eval"]
    assert len(evals) == 3  # one per base: the base and its 4 adapters on the same items
    for e in evals:
        assert "--benchmarks gsm8k,math500,humaneval" in e.command and e.command.count("--adapter ") == 4


def test_grpo_cells_start_from_the_warm_up_adapter_with_the_rl_flags(tmp_path):
    _, cells = _plan(ROOT / "recipes" / "reft.yaml", f"out={tmp_path}")
    sft = next(c for c in cells if c.id.startswith("train-sft-"))
    grpo = next(c for c in cells if c.id.startswith("train-grpo-"))
    assert sft.id in grpo.deps
    argv = grpo.argv
    assert argv[argv.index("--method") + 1] == "grpo"
    assert argv[argv.index("--init-adapter") + 1] == sft.output
    assert argv[argv.index("--num-generations") + 1] == "8"
    assert argv[argv.index("--max-completion-length") + 1] == "512"
    assert argv[argv.index("--beta") + 1] == "0.04"
    assert "--method" not in sft.argv  # an SFT cell is today's plain `rft train`


def test_the_ablation_trains_three_renders_of_one_dataset_and_the_sample_data(tmp_path):
    _, cells = _plan(ROOT / "recipes" / "backtrack-ablation.yaml", f"out={tmp_path}", "seeds=[0]")
    trains = {c.info["arm"]: c for c in cells if c.stage == "train"}
    assert {a: c.argv[2] for a, c in trains.items()} == {
        "path": "search@v2", "backtrack": "search@v2", "search": "search@v2", "sample": "sample@v2"
    }  # fmt: skip
    for arm, render in (("path", "path"), ("backtrack", "backtrack"), ("search", "search")):
        assert trains[arm].argv[trains[arm].argv.index("--render") + 1] == render
    gens = {c.info["dataset"]: c.argv for c in cells if c.stage == "generate"}
    budget = [a[a.index("--max-tokens-per-problem") + 1] for a in gens.values()]
    limits = [a[a.index("--limit") + 1] for a in gens.values()]
    assert len(set(budget)) == 1 and len(set(limits)) == 1  # same problems, same budget


def test_plan_prints_every_cell_with_its_command_and_status(capsys, tmp_path):
    code, out, err = rft(
        capsys, "experiment", "plan", str(ROOT / "recipes" / "cpu-smoke.yaml"), "--set", f"out={tmp_path}"
    )
    assert code == 0, err
    _, cells = _plan(ROOT / "recipes" / "cpu-smoke.yaml", f"out={tmp_path}")
    assert f"cpu-smoke: {len(cells)} cells, 0 done" in out
    for c in cells:
        assert f"{c.id}  [pending]  -> {c.output}" in out and c.command in out


def test_the_shell_and_slurm_scripts_are_valid_bash_with_one_array_task_per_cell(capsys, tmp_path):
    recipe = str(ROOT / "recipes" / "lora-protocol.yaml")
    _, cells = _plan(recipe, f"out={tmp_path}")
    sh, slurm = tmp_path / "run.sh", tmp_path / "run.slurm"
    code, out, err = rft(capsys, "experiment", "plan", recipe, "--set", f"out={tmp_path}", "--format", "shell",
                         "--output", str(sh))  # fmt: skip
    assert code == 0, err
    code, out, err = rft(capsys, "experiment", "plan", recipe, "--set", f"out={tmp_path}", "--format", "slurm",
                         "--sbatch=--partition=gpu", "--sbatch=--gres=gpu:1", "--output", str(slurm))  # fmt: skip
    assert code == 0, err
    for script in (sh, slurm):
        check = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
    text = slurm.read_text()
    assert "#SBATCH --partition=gpu" in text and "#SBATCH --gres=gpu:1" in text
    tasks = re.findall(r"^  (\d+)\)  # (\S+) -> ", text, flags=re.M)
    assert [(int(i), cid) for i, cid in tasks] == [(i, c.id) for i, c in enumerate(cells)]
    arrays = re.findall(r"--array=([\d,]+)", text)
    assert sorted(int(i) for a in arrays for i in a.split(",")) == list(range(len(cells)))
    assert len(arrays) == len(waves(cells)) == 4  # generate, validate, train, eval
    assert arrays[0] == "0" and "--dependency=afterany:$prev" in text
    for i, c in enumerate(cells):  # training under accelerate, the rest as plain rft commands
        line = text.split(f"  {i})  # {c.id}")[1].splitlines()[1].strip()
        args = shlex.join(c.argv[1:])
        if c.stage == "train":
            assert line.startswith("accelerate launch ") and f"-m rft.cli {args} ;;" in line
        else:
            assert line == f"rft {args} ;;"
    assert sh.read_text().count(' || { echo "cell ') == len(cells)


def test_dry_run_prints_the_plan_and_the_teacher_cost_from_generates_dry_run(capsys, tmp_path):
    code, out, err = rft(capsys, "experiment", "run", str(ROOT / "recipes" / "cpu-smoke.yaml"), "--set", f"out={tmp_path}",
                         "--dry-run")  # fmt: skip
    assert code == 0, err
    assert "generate-demo  [pending]" in out
    assert re.search(
        r"teacher cost of generate-demo \(upper bound, from generate's dry run\): 4 problems, [\d,]+ calls",
        out,
    )
    assert "cost <= $0 (local model)" in out and "dry run: nothing was run" in out
    assert not (tmp_path / "cpu-smoke").exists()


# --- bad input: one line, exit 2, before anything runs ----------------------------------------------


def _bad(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "r.yaml"
    p.write_text(text)
    return p


BASE = """\
name: t
datasets:
  d:
    generate: {problems: demo, limit: 2}
    validate: {hub: false}
bases:
  a: smollm2-135m
  b: smollm2-135m
benchmarks: [gsm8k]
arms:
  sft: {rank: [4], alpha: [16]}
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            BASE.replace("  sft: {rank: [4], alpha: [16]}", "  sft: {rank: [4], alpha: [16], rnak: 3}"),
            "r.yaml:11: arms.sft.rnak: unknown key",
        ),
        (BASE + "seedz: [1]\n", "r.yaml:12: seedz: unknown key"),
        (
            BASE.replace("{hub: false}", "{hub: false, dedupe: 1}"),
            "r.yaml:5: datasets.d.validate.dedupe: unknown option of rft validate",
        ),
        (BASE + "train: {max_step: 3}\n", "r.yaml:12: train.max_step: unknown option of rft train"),
        (BASE + "train: {rank: 3}\n", "r.yaml:12: train.rank: set by the experiment, not in a train section"),
        (BASE.replace("[gsm8k]", "[gsm8k, gsm9k]"), "r.yaml:9: benchmarks.1: unknown benchmark 'gsm9k'"),
        (BASE + "metrics: [accuracy, speed]\n", "r.yaml:12: metrics.1: unknown metric 'speed'"),
        (
            BASE + "  x: {method: grpo, warmup: y}\n  y: {method: sft, warmup: x}\n",
            "arms.x.warmup: the warm-up links make a cycle: x -> y -> x",
        ),
        (
            BASE.replace("  sft: {rank: [4], alpha: [16]}", "  sft: {rank: [4], alpha: [16], bases: [a]}")
            + "  rl: {method: grpo, warmup: sft, bases: [b]}\n",
            "arms.rl.warmup: warm-up arm 'sft' is not trained on base 'b'",
        ),
        (BASE + "  rl: {method: grpo, warmup: nope}\n", "arms.rl.warmup: no arm 'nope' in `arms`"),
        (
            BASE + "  rl: {method: grpo, warmup: sft, rank: [8]}\n",
            "arms.rl.rank: a warm-started arm takes the rank",
        ),
        (BASE.replace("rank: [4]", "rank: [0]"), "r.yaml:11: arms.sft.rank: must be > 0, got 0"),
        (BASE + "train: {lr: -1}\n", "arms.sft: --lr: Input should be greater than 0"),
        (BASE + "eval: {samples: 4, temperature: 0}\n", "eval: --samples 4 at --temperature 0"),
        (BASE.replace("name: t", "name: a/b"), "r.yaml:1: name: 'a/b': use letters"),
        ("name: t\nbases: [x\n", "r.yaml:3: not valid YAML"),
    ],
)
def test_a_bad_recipe_is_one_line_and_exit_2(capsys, tmp_path, text, message):
    code, out, err = rft(
        capsys, "experiment", "run", str(_bad(tmp_path, text)), "--set", f"out={tmp_path / 'x'}"
    )
    assert code == 2, (out, err)
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "x").exists()  # nothing ran


def test_a_set_that_is_not_key_value_and_a_missing_recipe_are_one_line(capsys, tmp_path):
    code, _, err = rft(
        capsys, "experiment", "plan", str(ROOT / "recipes" / "cpu-smoke.yaml"), "--set", "eval.limit"
    )
    assert code == 2 and "--set 'eval.limit': expected KEY.PATH=VALUE" in err
    code, _, err = rft(capsys, "experiment", "plan", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml: cannot read it" in err
    code, _, err = rft(
        capsys, "experiment", "plan", str(ROOT / "recipes" / "cpu-smoke.yaml"), "--set", "eval.limt=3"
    )
    assert code == 2 and "cpu-smoke.yaml (--set eval.limt): eval.limt: unknown option of rft eval" in err


def test_a_finished_cell_made_with_other_settings_is_an_error_naming_its_folder(capsys, tmp_path):
    import json

    recipe = str(ROOT / "recipes" / "cpu-smoke.yaml")
    _, cells = _plan(recipe, f"out={tmp_path}")
    train = next(c for c in cells if c.stage == "train")
    Path(train.output).mkdir(parents=True)
    config = {**train.expect["config"], "max_steps": 99}
    (Path(train.output) / "manifest.json").write_text(json.dumps({"config": config}))
    code, _, err = rft(capsys, "experiment", "run", recipe, "--set", f"out={tmp_path}")
    assert code == 2 and err.count("\n") == 1
    assert f"{train.output} was made with other settings (--max-steps differ) than cell {train.id}" in err
    (Path(train.output) / "manifest.json").write_text(json.dumps({"config": train.expect["config"]}))
    code, out, err = rft(capsys, "experiment", "plan", recipe, "--set", f"out={tmp_path}")
    assert code == 0 and f"{train.id}  [done]" in out and "1 done" in out
