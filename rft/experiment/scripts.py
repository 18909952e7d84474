"""`rft experiment plan --format shell|slurm`: the cells as a script to run anywhere.

The shell script runs the cells in plan order and goes on past a failed one (each `rft` command
resumes what it finished, so running the script again resumes the experiment). The Slurm script is
an array job with one task per cell; run with `bash`, it submits itself once per dependency wave
(`sbatch --array=<that wave's tasks> --dependency=afterany:<the previous wave>`); under Slurm
(SLURM_ARRAY_TASK_ID set) it runs its task's cell. Training cells go through `accelerate launch`
(one process per GPU of the task). The user's `#SBATCH` flags are passed through as given."""

from __future__ import annotations

import shlex
from pathlib import Path

from rft.experiment.cells import Cell, waves


def _cell_line(cell: Cell, launcher: str) -> str:
    args = shlex.join(cell.argv[1:])
    if cell.stage == "train" and launcher == "slurm":
        return f'accelerate launch --num_processes "${{RFT_TRAIN_PROCESSES:-${{SLURM_GPUS_ON_NODE:-1}}}}" -m rft.cli {args}'
    return f"rft {args}"


def shell_script(name: str, cells: list[Cell], workdir: Path) -> str:
    lines = [
        "#!/usr/bin/env bash",
        f"# rft experiment {name}: {len(cells)} cells in dependency order. Each line is a plain rft command",
        "# that resumes what it finished: run this script again to resume the experiment.",
        "set -u",
        f'cd "${{RFT_WORKDIR:-{workdir}}}"',
        "failed=0",
        "",
    ]
    for c in cells:
        lines.append(f"# {c.id}  ->  {c.output}" + (f"  (after {', '.join(c.deps)})" if c.deps else ""))
        lines.append(f'{_cell_line(c, "shell")} || {{ echo "cell {c.id} failed" >&2; failed=1; }}')
    lines += ["", 'exit "$failed"', ""]
    return "\n".join(lines)


def slurm_script(name: str, cells: list[Cell], workdir: Path, sbatch: list[str], logs: Path) -> str:
    lines = [
        "#!/usr/bin/env bash",
        f"#SBATCH --job-name=rft-{name}",
        f"#SBATCH --chdir={workdir}",
        f"#SBATCH --output={logs}/slurm-%A_%a.out",
        *(f"#SBATCH {flag}" for flag in sbatch),
        f"# rft experiment {name}: a Slurm array job, one task per cell ({len(cells)} cells).",
        "# Submit with:  bash THIS_FILE   (one sbatch per dependency wave, each after the previous one)",
        "set -euo pipefail",
        f'cd "${{RFT_WORKDIR:-{workdir}}}"  # where the plan was made: the paths of the cells are relative to it',
        "",
        'if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then',
        f"  mkdir -p {shlex.quote(str(logs))}",
        '  prev=""',
    ]
    for wave in waves(cells):
        spec = ",".join(str(i) for i in wave)
        lines += [
            f'  prev=$(sbatch --parsable --array={spec} ${{prev:+--dependency=afterany:$prev}} "$0")',
            f'  echo "submitted cells {spec} as job $prev"',
        ]
    lines += ["  exit 0", "fi", "", 'case "$SLURM_ARRAY_TASK_ID" in']
    for i, c in enumerate(cells):
        lines.append(f"  {i})  # {c.id} -> {c.output}")
        lines.append(f"    {_cell_line(c, 'slurm')} ;;")
    lines += ['  *) echo "no cell $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;', "esac", ""]
    return "\n".join(lines)
