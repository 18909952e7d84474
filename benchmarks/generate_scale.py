"""`rft generate` at scale (prints ratios; not a test).

A local OpenAI-compatible server (its own process, benchmarks/teacher_throughput.py) answers every request
after 100 ms; `rft generate --strategy sample --samples 1 --validator answer --concurrency 64` runs as a
subprocess over N generated problems. Prints problems/s / 640 (ideal; target >= 0.8), the subprocess's
peak RSS at each size (target: the largest within 10% of the smallest), its CPU seconds per 1,000 problems
(what the ratio comes to on a machine other processes share) and the time to re-run the finished job
(resume).

    .venv/bin/python benchmarks/generate_scale.py [--sizes 10000,50000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from teacher_throughput import BODY, CONCURRENCY, IDEAL, free_port  # noqa: E402

ANSWER = "Add the numbers.\nFinal answer: 42"
BODY_SAMPLE = BODY.replace(b'"content": "42"', json.dumps({"content": ANSWER})[1:-1].encode())


def serve(port: int) -> None:
    """Fixed-latency server whose reply is a one-step solution with a final answer."""
    import teacher_throughput

    teacher_throughput.BODY = BODY_SAMPLE
    teacher_throughput.serve(port)


def write_problems(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps({"id": f"p{i}", "question": f"What is {i} + 42 - {i}?", "answer": "42"}) + "\n"
            )


def bench(sizes: list[int]) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    env = {**os.environ, "BENCH_KEY": "x"}
    rss = {}
    try:
        time.sleep(2)
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                problems = Path(tmp) / "problems.jsonl"
                write_problems(problems, n)
                args = [
                    "--problems", str(problems), "--teacher", "openai:bench",
                    "--base-url", f"http://127.0.0.1:{port}/v1", "--api-key-env", "BENCH_KEY",
                    "--strategy", "sample", "--samples", "1", "--validator", "answer",
                    "--concurrency", str(CONCURRENCY), "--no-progress", "--name", "scale",
                    "--out", str(Path(tmp) / "out"),
                ]  # fmt: skip
                # each size in a fresh child so RUSAGE_CHILDREN's max is this run's
                code = (
                    "import sys,subprocess,resource,time;t=time.perf_counter();"
                    "r=subprocess.run(sys.argv[1:],capture_output=True,text=True);"
                    "u=resource.getrusage(resource.RUSAGE_CHILDREN);"
                    "print(time.perf_counter()-t,u.ru_maxrss,u.ru_utime+u.ru_stime,r.returncode);"
                    "sys.stderr.write(r.stderr[-3000:])"
                )
                out = {}
                for label in ("run", "resume"):
                    extra = (
                        []
                        if label == "run"
                        else ["--resume", next((Path(tmp) / "out/scale/runs").iterdir()).name]
                    )
                    p = subprocess.run(
                        [sys.executable, "-c", code, sys.executable, "-m", "rft.cli", "generate", *args, *extra],
                        env=env, capture_output=True, text=True,
                    )  # fmt: skip
                    secs, kb, cpu, rc = p.stdout.split()
                    if rc != "0":
                        raise SystemExit(f"rft generate {label} failed ({rc}):\n{p.stderr}")
                    out[label] = (float(secs), int(kb), float(cpu))
                secs, kb, cpu = out["run"]
                rss[n] = kb
                print(
                    f"{n:>7} problems: {n / secs:7.1f}/s = {n / secs / IDEAL:.2f} of ideal {IDEAL:.0f}/s; "
                    f"peak RSS {kb / 1024:.0f} MB; CPU {cpu / n * 1000:.2f}s per 1k problems; "
                    f"resume {out['resume'][0]:.1f}s"
                )
    finally:
        server.terminate()
        server.wait()
    if len(rss) > 1:
        lo, hi = rss[min(rss)], rss[max(rss)]
        print(f"RSS {max(rss)} / {min(rss)} = {hi / lo:.2f} (target <= 1.10)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,50000")
    ap.add_argument("--serve", type=int)
    a = ap.parse_args()
    if a.serve:
        serve(a.serve)
        return
    bench([int(s) for s in a.sizes.split(",")])


if __name__ == "__main__":
    main()
