"""OpenMP's wait policy for torch on the CPU, chosen per command before torch is first imported.

Idle OpenMP threads spin by default (libgomp: about 300,000 turns before they sleep). Where the
process shares the CPU with its own event loop and HTTP clients (`rft generate` with a local
teacher, `rft validate`'s local judge) or with other jobs, spinning starves them: SmolLM2's generate
took 12 s instead of 1.6 s on two busy cores. So rft sets `OMP_WAIT_POLICY=PASSIVE` (threads sleep
at once). Where the process does nothing but compute (`rft eval` on local weights), threads that
sleep wake late for every multi-threaded kernel: a batch-16 decode step of SmolLM2 on 2 cores took
about a third longer, one-at-a-time steps about a sixth (benchmarks/eval_throughput.py). So
`rft eval` lets them spin a short while, `GOMP_SPINCOUNT=100000` (on the order of a millisecond),
then sleep. On two cores kept busy by other jobs that spin costs about 40% against PASSIVE (libgomp's
unbounded default, several times): set `OMP_WAIT_POLICY=PASSIVE` there.

A user's own `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT` wins. What rft set is marked in `RFT_OPENMP`, so a
child process (`rft experiment` runs its cells as `rft` subprocesses) tells rft's choice, which it
may change for its own command, from a user's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Container, MutableMapping

SPIN_COUNT = "100000"
COMPUTE_COMMANDS = frozenset({"eval"})
MARK = "RFT_OPENMP"


def command_of(argv: list[str]) -> str | None:
    """The rft command in a command line (`rft eval ...`, `python -m rft.cli eval ...`), if any."""
    return next((a for a in argv[1:] if not a.startswith("-")), None)


def configure(
    command: str | None, env: MutableMapping[str, str] | None = None, modules: Container[str] | None = None
) -> None:
    """Set the wait policy for `command` in `env` (the process's; see the module doc), unless torch is
    already among `modules` (then it has read the policy)."""
    env = os.environ if env is None else env
    if "torch" in (sys.modules if modules is None else modules):
        return
    mark = env.pop(MARK, None)
    if mark == "passive" and env.get("OMP_WAIT_POLICY") == "PASSIVE":
        del env["OMP_WAIT_POLICY"]
    elif mark == "spin" and env.get("GOMP_SPINCOUNT") == SPIN_COUNT:
        del env["GOMP_SPINCOUNT"]
    if "OMP_WAIT_POLICY" in env or "GOMP_SPINCOUNT" in env:
        return  # the user's
    if command in COMPUTE_COMMANDS:
        env["GOMP_SPINCOUNT"] = SPIN_COUNT
        env[MARK] = "spin"
    else:
        env["OMP_WAIT_POLICY"] = "PASSIVE"
        env[MARK] = "passive"
