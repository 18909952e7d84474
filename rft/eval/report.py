"""What `rft eval` reports from its samples: per benchmark and model the summary (accuracy ± SE, the
extraction-failure rate, pass@k, maj@k: `rft.eval.summary`; code benchmarks by their tests), BLEU of
the reasoning, latency, tokens/s and peak memory; per adapter against the base on the same items the
paired comparison (`rft.eval.stats.compare`); and the table (rich and Markdown) and the bar chart.

Code benchmarks have no answer to read: an item's sample is right when its code passes every test
(`code-tests`), the "extraction failure" is a completion with no code in it, and the headline is the
`tests` row. The paired comparison is on the headline extraction's per-item pass@1."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rft import benchmarks
from rft.eval.stats import compare
from rft.eval.summary import ExtractionSummary, rate, summarize
from rft.memory import format_bytes
from rft.schemas import Verdict

CODE = "tests"  # the one "extraction" of a code benchmark: its tests ran


def is_code(benchmark: str) -> bool:
    return benchmarks.get(benchmark).grader == "code-tests"


def code_summary(rows: Sequence[Sequence[dict[str, Any]]]) -> dict[str, ExtractionSummary]:
    """The summary of a code benchmark from `rows[item][sample]` (sample rows of samples.jsonl)."""
    from rft.eval.stats import pass_at_k

    n = min(len(samples) for samples in rows)
    per_item_pass: dict[int, list[float]] = {k: [] for k in range(1, n + 1)}
    failures: list[float] = []
    for samples in rows:
        read = samples[:n]
        right = sum(r["scores"][CODE]["verdict"] == Verdict.correct.value for r in read)
        for k in per_item_pass:
            per_item_pass[k].append(pass_at_k(n, right, k))
        failures.append(sum(not (r["scores"][CODE]["extracted"] or "").strip() for r in read) / n)
    return {
        CODE: ExtractionSummary(
            extraction=CODE,
            samples=n,
            accuracy=rate(per_item_pass[1]),
            extraction_failures=rate(failures),
            pass_at_k={k: rate(v) for k, v in per_item_pass.items()},
            maj_at_k={},
            per_item_pass=per_item_pass,
            per_item_maj={},
        )
    }


def answer_summary(
    benchmark: str, golds: Sequence[str], rows: Sequence[Sequence[dict[str, Any]]]
) -> dict[str, ExtractionSummary]:
    from rft.eval.scoring import Score

    scores = [
        [
            {
                name: Score(
                    name, s["extracted"], Verdict(s["verdict"]), s["detail"], s.get("lm_eval_exact_match")
                )
                for name, s in r["scores"].items()
            }
            for r in samples
        ]
        for samples in rows
    ]
    return summarize(benchmark, golds, scores)


def timing(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Latency per sample (from its prompt read to its last token; a remote request's own time), tokens
    per sample, and tokens/s: the tokens of the rows over the wall time of their batches, each batch
    counted once; a batch's wall time is its last row's `elapsed_s` (rows written before elapsed_s
    was recorded: the batch's latency, which all its rows shared)."""
    batches: dict[Any, float] = {}
    for r in rows:
        batches[r["batch"]] = max(batches.get(r["batch"], 0.0), float(r.get("elapsed_s", r["latency_s"])))
    wall = sum(batches.values())
    tokens = sum(r["tokens"] for r in rows)
    return {
        "samples": len(rows),
        "latency_s_mean": sum(r["latency_s"] for r in rows) / len(rows) if rows else None,
        "tokens_mean": tokens / len(rows) if rows else None,
        "tokens_per_s": tokens / wall if wall > 0 else None,
        "generation_s": wall,
        "batches": len(batches),
    }


def comparisons(
    results: dict[str, Any], summaries: dict[str, dict[str, dict[str, ExtractionSummary]]], base: str
) -> dict[str, dict[str, Any]]:
    """Per benchmark, per adapter: the paired comparison of its headline pass@1 against the base's."""
    out: dict[str, dict[str, Any]] = {}
    for bench, per_model in summaries.items():
        if base not in per_model:
            continue
        head = next(iter(per_model[base]))
        out[bench] = {}
        for name, summ in per_model.items():
            if name == base:
                continue
            c = compare(
                summ[head].per_item_pass[1], per_model[base][head].per_item_pass[1], name_a=name, name_b=base
            )
            out[bench][name] = {"extraction": head, **c.as_dict()}
    return out


def _pct(e: dict[str, Any]) -> str:
    return f"{e['value'] * 100:.1f} ± {e['se'] * 100:.1f}"


def _memory(model: dict[str, Any]) -> str:
    """The peak memory cell: "not measured" for a model whose memory is not ours to read (a remote one)."""
    if str(model.get("peak_memory_kind") or "").startswith("not measured"):
        return "not measured"
    return format_bytes(model.get("peak_memory_bytes"))


def table_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    """The per benchmark x model table: header and rows (strings). Accuracy is the headline
    extraction's; the benchmark's other extractions (lm-eval strict / flexible) are in `also`."""
    head = ["benchmark", "model", "accuracy % ± SE", "no answer %", "also (read by)", "pass@k %", "maj@k %", "BLEU",
            "latency s", "tokens/s", "peak mem"]  # fmt: skip
    rows = []
    for bench, per_model in results["benchmarks"].items():
        for name, r in per_model.items():
            ex = r["extractions"]
            first = next(iter(ex))
            also = ", ".join(f"{k} {v['accuracy']['value'] * 100:.1f}" for k, v in ex.items() if k != first)
            fail = f"{ex[first]['extraction_failures']['value'] * 100:.1f}"
            passk = ", ".join(
                f"@{k} {v['value'] * 100:.1f}" for k, v in ex[first]["pass_at_k"].items() if k != "1"
            )
            maj = ", ".join(f"@{k} {v['value'] * 100:.1f}" for k, v in ex[first]["maj_at_k"].items())
            bleu = r.get("bleu") or {}
            t = r["timing"]
            rows.append([
                bench, name, _pct(ex[first]["accuracy"]), fail, also or "-", passk or "-", maj or "-",
                "-" if bleu.get("corpus") is None else f"{bleu['corpus']:.1f}",
                "-" if t["latency_s_mean"] is None else f"{t['latency_s_mean']:.2f}",
                "-" if t["tokens_per_s"] is None else f"{t['tokens_per_s']:.1f}",
                _memory(results["models"][name]),
            ])  # fmt: skip
    return head, rows


def comparison_rows(results: dict[str, Any]) -> tuple[list[str], list[list[str]]]:
    head = ["benchmark", "adapter vs base", "diff pts", "95% CI", "McNemar p", "won/lost/tied", "verdict"]
    rows = []
    for bench, per in results["comparisons"].items():
        for name, c in per.items():
            p = "-" if c["mcnemar_p"] is None else f"{c['mcnemar_p']:.3g}"
            rows.append([
                bench, f"{name} vs {c['b']}", f"{c['diff'] * 100:+.1f}",
                f"[{c['ci_low'] * 100:+.1f}, {c['ci_high'] * 100:+.1f}]", p,
                f"{c['won']}/{c['lost']}/{c['tied']}",
                "no significant difference" if not c["significant"] else c["verdict"].split(" (")[0],
            ])  # fmt: skip
    return head, rows


def _md(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


def markdown(results: dict[str, Any]) -> str:
    parts = [f"# rft eval {results['id']}", "", f"{results['note']}", "", _md(*table_rows(results))]
    if any(results["comparisons"].values()):
        parts += [
            "",
            "## Each adapter against the base (same items, paired)",
            "",
            _md(*comparison_rows(results)),
        ]
    parts += ["", results["stats_note"], ""]
    return "\n".join(parts)


def print_tables(results: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    for title, (head, rows) in (
        (f"rft eval {results['id']}", table_rows(results)),
        ("each adapter vs the base (paired bootstrap 95% CI, McNemar)", comparison_rows(results)),
    ):
        if not rows:
            continue
        t = Table(title=title)
        for h in head:
            t.add_column(h)
        for r in rows:
            t.add_row(*r)
        console.print(t)


def plot(results: dict[str, Any], path: Path) -> None:
    """Grouped bars: headline accuracy per benchmark and model, error bars from its 95% interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    benches = list(results["benchmarks"])
    models = list(results["models"])
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(max(5, 1.8 * len(benches) * max(1, len(models)) ** 0.5), 4))
    x = np.arange(len(benches))
    for i, name in enumerate(models):
        vals, lows, highs = [], [], []
        for b in benches:
            r = results["benchmarks"][b].get(name)
            if r is None:
                vals.append(np.nan), lows.append(0), highs.append(0)
                continue
            acc = next(iter(r["extractions"].values()))["accuracy"]
            vals.append(acc["value"] * 100)
            lows.append(max(0.0, (acc["value"] - acc["ci_low"]) * 100))
            highs.append(max(0.0, (acc["ci_high"] - acc["value"]) * 100))
        ax.bar(
            x + (i - (len(models) - 1) / 2) * width, vals, width, yerr=[lows, highs], capsize=3, label=name
        )
    ax.set_xticks(x, benches)
    ax.set_ylabel("accuracy % (headline extraction; 95% CI)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    ax.set_title(f"rft eval {results['id']}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
