"""The RL stage's rewards: how fast `rft.train.rewards` scores completions, and how much of a GRPO
step's wall time the reward takes (prints figures and ratios; not a test).

1. Reward computation for N completions (default 1,024), batched (`RewardScorer.score`, what the
   trainer calls once per generation batch) against one at a time (`grade(problem, text)` of
   rft.verify per completion, what a naive reward function does), in the same run, same answers:
   - math, symbolic: MATH answers (math-verify: sympy), 128 problems x 8 samples;
   - math, numeric: GSM8K answers (plain numbers), 128 problems x 8 samples;
   - code: MBPP problems, each sample's code run against the problem's tests in the sandbox.
   A group of 8 samples is made as GRPO groups look once training has started: 3 give the gold answer,
   3 the same wrong answer, 1 another wrong answer and 1 no answer (code: 4 the reference solution,
   2 a stub that fails, 1 code that does not compile, 1 no code). The batched scorer's process pool
   and the sandbox's fork server are started before the clock (they live as long as the trainer).
   Target: batched >= 2x one at a time on 2 cores.
2. A real GRPO run (SmolLM2-135M on CPU, `rft train --method grpo` in process) on GSM8K train
   problems: the share of its wall time spent computing rewards (`reward_time_share` in metrics.json:
   the seconds the reward function took, over the trainer's runtime). Target <= 10% for math.

    .venv/bin/python benchmarks/rl_throughput.py [--n 1024] [--workers 2] [--steps 3] [--no-grpo]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
BENCH = ROOT.parent / "shared" / "benchmarks"
GROUP = 8


def _answer_groups(problems, n: int, seed: int = 0):
    """(problems, texts): groups of GROUP samples per problem, mixed as the module doc says."""
    rng = random.Random(seed)
    chosen = rng.sample([p for p in problems if p.answer], n // GROUP)
    golds = [p.answer for p in chosen]
    out_p, out_t = [], []
    for i, p in enumerate(chosen):
        wrong = golds[(i + 1) % len(golds)]
        other = golds[(i + 7) % len(golds)]
        if wrong == p.answer:
            wrong = f"{wrong}+1"
        samples = [f"Let me work it out step by step.\nFinal answer: {p.answer}"] * 3
        samples += [f"Adding the parts gives the result.\nFinal answer: {wrong}"] * 3
        samples += [f"So it comes to this.\nFinal answer: {other}", "I am not sure how to go on from here."]
        out_p += [p] * GROUP
        out_t += samples
    return out_p, out_t


def _code_groups(problems, n: int, seed: int = 0):
    rng = random.Random(seed)
    pool = [p for p in problems if p.tests and p.solution and p.entry_point]
    chosen = [pool[i % len(pool)] for i in range(n // GROUP)]
    rng.shuffle(chosen)
    out_p, out_t = [], []
    for p in chosen:
        ok = f"Here is the function.\n```python\n{p.solution.strip()}\n```"
        stub = f"```python\ndef {p.entry_point}(*args):\n    return None\n```"
        broken = f"```python\ndef {p.entry_point}(x:\n    return x\n```"
        out_p += [p] * GROUP
        out_t += [ok] * 4 + [stub] * 2 + [broken, "I would loop over the input."]
    return out_p, out_t


def _one_at_a_time(problems, texts, reward: str) -> list[float]:
    from rft.train.rewards import REFT_WRONG, is_code
    from rft.verify.answers import extract_final_answer
    from rft.verify.grader import CODE_TESTS, grader_for

    out = []
    for p, t in zip(problems, texts, strict=True):
        if is_code(p):
            g = CODE_TESTS.grade(p, t)
            out.append(g.share if reward == "code-tests" else float(g.verdict == "correct"))
            continue
        g = grader_for(p).grade(p, t)
        out.append(1.0 if g.verdict == "correct" else REFT_WRONG if extract_final_answer(t) else 0.0)
    return out


def bench_rewards(name: str, problems, texts, reward: str, workers: int | None) -> tuple[float, float]:
    from rft.train.rewards import RewardScorer

    with RewardScorer(reward, workers=workers) as scorer:
        scorer.score(problems[: 4 * GROUP], texts[: 4 * GROUP])  # the pool and the fork server are up
        if reward != "code-tests" and name.startswith("math, symbolic"):
            scorer.pool()
        started = time.perf_counter()
        batched = scorer.score(problems, texts)
        t_batched = time.perf_counter() - started
    started = time.perf_counter()
    single = _one_at_a_time(problems, texts, reward)
    t_single = time.perf_counter() - started
    same = [s.reward for s in batched] == single
    n = len(texts)
    print(
        f"{name:<22} {n:>5} completions   one at a time {t_single:7.2f} s ({n / t_single:8.0f}/s)   "
        f"batched {t_batched:7.2f} s ({n / t_batched:8.0f}/s)   speed-up {t_single / t_batched:5.2f}x   "
        f"same rewards: {same}",
        flush=True,
    )
    return t_single, t_batched


def bench_grpo(steps: int, generations: int, completion_tokens: int) -> None:
    import json

    from rft.config import load_config
    from rft.train.config import TrainConfig
    from rft.train.run import run_grid

    out = Path(tempfile.mkdtemp(prefix="rl-throughput-"))
    flags = {
        "method": "grpo",
        "problems": str(BENCH / "gsm8k" / "train.jsonl"),
        "preset": "gsm8k",
        "limit": 16,
        "out": str(out),
        "name": "gsm8k",
        "max_steps": steps,
        "num_generations": generations,
        "batch_size": generations,
        "max_completion_length": completion_tokens,
        "gradient_checkpointing": False,
        "lr": 1e-5,
    }
    cfg = load_config(TrainConfig, None, flags)
    result = run_grid(cfg, ["benchmarks/rl_throughput.py"], progress=False)
    m = json.loads((result.outcomes[0].path / "metrics.json").read_text())
    per_step = m["train_runtime_s"] / max(m["steps"], 1)
    print(
        f"GRPO on GSM8K train (SmolLM2-135M, CPU): {m['steps']} steps of {generations} completions of at most "
        f"{completion_tokens} tokens; {per_step:.1f} s a step; reward {m['reward_seconds'] * 1000:.1f} ms in all "
        f"= {m['reward_time_share']:.3%} of the wall time (target <= 10%); reward mean {m['reward_mean']:.3f}, "
        f"correct {m['correct_share']:.2f}, no answer {m['no_answer_share']:.2f}; {m['tokens_per_s']:.0f} tokens/s",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1024, help="completions per reward benchmark")
    ap.add_argument(
        "--workers", type=int, default=None, help="math-verify processes / sandboxes (default: CPUs)"
    )
    ap.add_argument("--steps", type=int, default=3, help="GRPO steps")
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--completion-tokens", type=int, default=128)
    ap.add_argument("--no-grpo", action="store_true", help="skip the GRPO run")
    args = ap.parse_args()

    from rft.problems.loader import load_problems
    from rft.train.rewards import _cpus, _warm

    _warm()  # math-verify imported here too: neither side pays for its import in the clock

    workers = args.workers
    print(
        f"{_cpus()} CPUs; batched with {workers or _cpus()} math-verify processes and {workers or _cpus()} "
        f"sandboxes at a time; groups of {GROUP} samples per problem",
        flush=True,
    )
    math = load_problems(str(BENCH / "math" / "test.jsonl"), preset="math")
    gsm = load_problems(str(BENCH / "gsm8k" / "train.jsonl"), preset="gsm8k")
    mbpp = load_problems(str(BENCH / "mbpp" / "mbpp.jsonl"), preset="mbpp")
    results = {
        "math, symbolic (MATH)": bench_rewards(
            "math, symbolic (MATH)", *_answer_groups(math, args.n), "reft", workers
        ),
        "math, numeric (GSM8K)": bench_rewards(
            "math, numeric (GSM8K)", *_answer_groups(gsm, args.n), "reft", workers
        ),
        "code (MBPP, sandbox)": bench_rewards(
            "code (MBPP, sandbox)", *_code_groups(mbpp, args.n), "code-tests", workers
        ),
    }
    total_single = sum(s for s, _ in results.values())
    total_batched = sum(b for _, b in results.values())
    print(f"all three: one at a time {total_single:.2f} s, batched {total_batched:.2f} s, "
          f"speed-up {total_single / total_batched:.2f}x (target >= 2x)", flush=True)  # fmt: skip
    if not args.no_grpo:
        bench_grpo(args.steps, args.generations, args.completion_tokens)


if __name__ == "__main__":
    main()
