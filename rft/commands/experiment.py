"""`rft experiment plan|run|report RECIPE`: an experiment (a recipe) as cells, each one plain `rft`
command with its own output folder; run the ones not done, resumably; gather a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from rft.console import err, out

app = typer.Typer(
    help="The research protocol as one resumable recipe: plan its cells, run them, report.",
    no_args_is_help=True,
)

RECIPE = typer.Argument(..., metavar="RECIPE", help="a recipe file (YAML), e.g. recipes/cpu-smoke.yaml")


def _set_option() -> Any:
    return typer.Option(
        None,
        "--set",
        metavar="KEY.PATH=VALUE",
        help="override a recipe value, e.g. --set eval.limit=4 (repeatable)",
    )


def _load(recipe: str, sets: list[str] | None) -> tuple[Any, list[Any]]:
    from rft.experiment.cells import plan
    from rft.experiment.recipe import load_recipe

    r, loc = load_recipe(recipe, sets)
    cells = plan(r, loc)
    return r, cells


def _print_plan(recipe: Any, cells: list[Any]) -> dict[str, str]:
    from rft.experiment.run import status

    states = {c.id: status(recipe.folder, c) for c in cells}  # a marker with other settings fails here
    done = sum(s == "done" for s in states.values())
    out.print(f"experiment {recipe.name}: {len(cells)} cells, {done} done ({recipe.folder})", markup=False)
    for i, c in enumerate(cells, 1):
        after = f"  after {', '.join(c.deps)}" if c.deps else ""
        out.print(f"{i:>3}. {c.id}  [{states[c.id]}]  -> {c.output}{after}", markup=False, soft_wrap=True)
        out.print(f"     {c.command}", markup=False, soft_wrap=True)
    return states


def _teacher_cost(cells: list[Any]) -> None:
    """Per generate cell, generate's own dry-run bound of calls, tokens and cost."""
    from rft.config import load_config
    from rft.generate.config import GenerateConfig
    from rft.generate.estimate import estimate, total_cost
    from rft.generate.problemset import choose_validator, load

    total: float | None = 0.0
    gens = [c for c in cells if c.stage == "generate"]
    for c in gens:
        cfg = load_config(GenerateConfig, None, c.info["generate_options"])
        problems, _ = load(cfg)
        validator = choose_validator(cfg, problems)
        est = estimate(
            problems, cfg.search, judged=validator != "answer", judge_max_tokens=cfg.search.judge_max_tokens
        )
        judge = (cfg.judge or cfg.teacher).spec
        roles = est.roles(cfg.teacher.spec, judge, cfg.teacher.prices_file)
        cost = total_cost(roles)
        local = all(r.spec.startswith("local:") for r in roles)
        shown = (
            "$0 (local model)"
            if local
            else ("unknown (a model has no price)" if cost is None else f"${cost:,.4f}")
        )
        out.print(
            f"teacher cost of {c.id} (upper bound, from generate's dry run): {est.problems} problems, "
            f"{est.calls:,} calls, {est.prompt_tokens:,} prompt + {est.completion_tokens:,} completion tokens, "
            f"cost <= {shown}",
            markup=False,
            soft_wrap=True,
        )
        if local:
            cost = 0.0
        total = None if total is None or cost is None else total + cost
    if gens:
        out.print(
            "teacher cost of the experiment's data: <= "
            + ("unknown (a model has no price)" if total is None else f"${total:,.4f}"),
            markup=False,
        )
    else:
        out.print("teacher cost: none (the recipe uses existing datasets)", markup=False)


@app.command("plan")
def plan_cmd(
    recipe: str = RECIPE,
    sets: list[str] = _set_option(),
    fmt: str = typer.Option(
        "table", "--format", help="table (print) | shell (a script) | slurm (an array job)"
    ),
    sbatch: list[str] = typer.Option(
        None,
        "--sbatch",
        metavar="FLAG",
        help="an #SBATCH flag for --format slurm, e.g. --sbatch=--partition=gpu (repeatable)",
    ),
    output: str = typer.Option(
        None, "--output", help="where to write the script (default: experiments/NAME/run.sh|run.slurm)"
    ),
) -> None:
    """Print every cell (one plain rft command with its output folder) and whether it is done; or
    write them as a shell script or a Slurm array job (one task per cell)."""
    from rft.errors import ConfigError, write_error
    from rft.experiment.scripts import shell_script, slurm_script

    if fmt not in ("table", "shell", "slurm"):
        raise ConfigError(f"--format {fmt!r}: use table, shell or slurm")
    if sbatch and fmt != "slurm":
        raise ConfigError("--sbatch goes with --format slurm")
    r, cells = _load(recipe, sets)
    if fmt == "table":
        _print_plan(r, cells)
        return
    workdir = Path.cwd()
    if fmt == "shell":
        text, default = shell_script(r.name, cells, workdir), r.folder / "run.sh"
    else:
        text, default = (
            slurm_script(r.name, cells, workdir, list(sbatch or []), r.folder / "logs"),
            r.folder / "run.slurm",
        )
    path = Path(output) if output else default
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
    except OSError as exc:
        raise write_error(exc, path) from exc
    how = f"bash {path}" if fmt == "shell" else f"bash {path}   (submits one array job per dependency wave)"
    out.print(f"wrote {path}: {len(cells)} cells; run it with: {how}", markup=False, soft_wrap=True)


@app.command("run")
def run_cmd(
    recipe: str = RECIPE,
    sets: list[str] = _set_option(),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="print the plan and the teacher-cost estimate; run nothing"
    ),
) -> None:
    """Run the cells that are not done, in dependency order (a failed cell is recorded and the others go
    on), then write the report. Killed, the same command resumes; finished cells are not run again."""
    from rft.experiment.report import write_report
    from rft.experiment.run import run_cells

    r, cells = _load(recipe, sets)
    states = _print_plan(r, cells)
    if dry_run:
        _teacher_cost([c for c in cells if states[c.id] != "done"] or cells)
        out.print("dry run: nothing was run", markup=False)
        return
    final = run_cells(r.folder, cells)
    path = write_report(r, cells)
    counts = {s: sum(v == s for v in final.values()) for s in ("done", "failed", "blocked")}
    out.print(f"report: {path}", markup=False)
    out.print(f"{counts['done']} of {len(cells)} cells done, {counts['failed']} failed, {counts['blocked']} blocked",
              markup=False)  # fmt: skip
    if counts["failed"] or counts["blocked"]:
        err.print(f"{counts['failed'] + counts['blocked']} cells not done: see {path}; the same command retries them",
                  markup=False)  # fmt: skip
        raise typer.Exit(1)


@app.command("report")
def report_cmd(recipe: str = RECIPE, sets: list[str] = _set_option()) -> None:
    """Gather what the cells wrote into experiments/NAME/report.md, results.json and a chart per
    benchmark; cells not done are shown as missing."""
    from rft.experiment.report import write_report

    r, cells = _load(recipe, sets)
    path = write_report(r, cells)
    out.print(path.read_text(encoding="utf-8"), markup=False, soft_wrap=True)
    out.print(f"wrote {path}, {r.folder / 'results.json'} and a chart per benchmark", markup=False)
