"""rft.openmp: OpenMP's wait policy by command, set before torch loads; a user's own setting wins."""

from __future__ import annotations

import os
import subprocess
import sys

from rft import openmp


def test_command_of_reads_the_rft_command():
    assert openmp.command_of(["rft", "eval", "--model", "x"]) == "eval"
    assert openmp.command_of(["/venv/bin/rft", "--version"]) is None
    assert openmp.command_of(["rft/cli.py", "generate", "-n", "3"]) == "generate"


def test_eval_spins_briefly_other_commands_sleep():
    env: dict[str, str] = {}
    openmp.configure("eval", env, modules=())
    assert env == {"GOMP_SPINCOUNT": openmp.SPIN_COUNT, openmp.MARK: "spin"}
    env = {}
    openmp.configure("generate", env, modules=())
    assert env == {"OMP_WAIT_POLICY": "PASSIVE", openmp.MARK: "passive"}


def test_a_users_setting_wins_and_a_parents_default_does_not():
    env = {"OMP_WAIT_POLICY": "PASSIVE"}  # the user's (no mark): kept for eval too
    openmp.configure("eval", env, modules=())
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}
    env = {"GOMP_SPINCOUNT": "5"}
    openmp.configure("generate", env, modules=())
    assert env == {"GOMP_SPINCOUNT": "5"}
    env = {"OMP_WAIT_POLICY": "PASSIVE", openmp.MARK: "passive"}  # rft experiment's own, inherited
    openmp.configure("eval", env, modules=())
    assert env == {"GOMP_SPINCOUNT": openmp.SPIN_COUNT, openmp.MARK: "spin"}
    env = {"GOMP_SPINCOUNT": openmp.SPIN_COUNT, openmp.MARK: "spin"}
    openmp.configure("validate", env, modules=())
    assert env == {"OMP_WAIT_POLICY": "PASSIVE", openmp.MARK: "passive"}


def test_nothing_changes_once_torch_is_loaded():
    env: dict[str, str] = {}
    openmp.configure("eval", env, modules={"torch"})
    assert env == {}


def test_the_cli_sets_it_before_torch_loads():
    code = (
        "import sys; sys.argv = ['rft', 'eval', '--help']; import rft, os; "
        "print(os.environ.get('GOMP_SPINCOUNT'), os.environ.get('OMP_WAIT_POLICY'), 'torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", openmp.MARK)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [openmp.SPIN_COUNT, "None", "False"]
