"""`rft experiment report`: what the cells wrote, gathered into experiments/<name>/report.md,
results.json and one chart per benchmark (<benchmark>.png).

Per benchmark, one row per base and per trained variant: accuracy with its error bar and the
extraction-failure rate, pass@k, BLEU of the reasoning, latency and tokens/s, inference and training
peak memory, trainable parameters, training wall time and the teacher cost of the data; per variant
its paired difference to its base (bootstrap 95% CI, McNemar p) from `rft eval`, and a line saying
whether the data support a difference. A cell that has not run, failed or is blocked is shown so,
never as a zero; its error is in the cells table."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rft.errors import write_error
from rft.experiment.cells import Cell, read_json, result_folder
from rft.experiment.recipe import Recipe
from rft.experiment.run import read_state, status
from rft.memory import format_bytes

REPORT, RESULTS = "report.md", "results.json"


def _teacher_cost(cells: list[Cell], recipe: Recipe, key: str) -> dict[str, Any] | None:
    ds = recipe.datasets[key]
    if ds.ref is not None:
        from rft.store import Store, parse_ref

        try:
            name, version = parse_ref(ds.ref)
            store = Store(ds.store)
            m = store.read_manifest(name, store.resolve(name, version)[0])
            return {"cost_usd": m.cost_usd, "tokens_in": m.tokens_in, "tokens_out": m.tokens_out}
        except Exception:  # an unreadable ref is shown as missing
            return None
    gen = next(c for c in cells if c.stage == "generate" and c.info["dataset"] == key)
    m = read_json(Path(gen.output) / "manifest.json")
    if m is None:
        return None
    return {"cost_usd": m.get("cost_usd"), "tokens_in": m.get("tokens_in"), "tokens_out": m.get("tokens_out"),
            "teacher": m.get("teacher"), "records": (m.get("counts") or {}).get("records")}  # fmt: skip


def _headline(entry: dict[str, Any]) -> dict[str, Any]:
    ex = entry["extractions"]
    first = next(iter(ex))
    return {"extraction": first, **ex[first]}


def _numbers(results: dict[str, Any], bench: str, name: str) -> dict[str, Any] | None:
    entry = (results.get("benchmarks") or {}).get(bench, {}).get(name)
    if entry is None:
        return None
    h = _headline(entry)
    t = entry.get("timing") or {}
    return {
        "extraction": h["extraction"],
        "items": entry.get("items"),
        "accuracy": h["accuracy"],
        "extraction_failures": h["extraction_failures"]["value"],
        "pass_at_k": {k: v["value"] for k, v in h["pass_at_k"].items()},
        "bleu": (entry.get("bleu") or {}).get("corpus"),
        "latency_s": t.get("latency_s_mean"),
        "tokens_per_s": t.get("tokens_per_s"),
        "infer_peak_memory_bytes": results["models"][name].get("peak_memory_bytes"),
    }


def gather(recipe: Recipe, cells: list[Cell]) -> dict[str, Any]:
    root = recipe.folder
    states = {c.id: status(root, c) for c in cells}
    cell_rows = []
    for c in cells:
        s = read_state(root, c)
        cell_rows.append({**c.as_dict(), "status": states[c.id], "seconds": s.get("seconds") if states[c.id] == "done" else None,
                          "error": s.get("error") if states[c.id] in ("failed", "blocked") else None})  # fmt: skip
    evals = [c for c in cells if c.stage == "eval"]
    loaded: dict[str, dict[str, Any]] = {}
    for c in evals:
        folder = result_folder(c)
        if folder is not None and (r := read_json(folder / "results.json")) is not None:
            loaded[c.id] = r
    costs = {k: _teacher_cost(cells, recipe, k) for k in recipe.datasets}

    def why(c: Cell | None) -> str:
        return (
            "missing" if c is None else {"done": "ok", "pending": "missing"}.get(states[c.id], states[c.id])
        )

    rows: dict[str, list[dict[str, Any]]] = {b: [] for b in recipe.benchmarks}
    for bench in recipe.benchmarks:
        for base_key, model in recipe.bases.items():
            base_evals = [c for c in evals if c.info["base"] == base_key]
            src = next((c for c in base_evals if c.id in loaded), None)
            nums = _numbers(loaded[src.id], bench, "base") if src else None
            rows[bench].append({
                "kind": "base", "base": base_key, "model": model, "label": f"{base_key} (untuned)",
                "status": "ok" if nums else why(base_evals[0] if base_evals else None),
                "eval_cell": src.id if src else (base_evals[0].id if base_evals else None),
                **(nums or {}), "comparison": None,
            })  # fmt: skip
            for t in (c for c in cells if c.stage == "train" and c.info["base"] == base_key):
                ev = next(e for e in evals if t.output in e.info["adapters"])
                res = loaded.get(ev.id)
                name = None
                if res is not None:
                    name = next((n for n, m in res["models"].items() if m.get("path") == t.output), None)
                nums = _numbers(res, bench, name) if res and name else None
                metrics = read_json(Path(t.output) / "metrics.json") if states[t.id] == "done" else None
                comp = (res or {}).get("comparisons", {}).get(bench, {}).get(name) if name else None
                status_ = "ok" if nums else (why(t) if states[t.id] != "done" else why(ev))
                rows[bench].append({
                    "kind": "arm", "base": base_key, "model": model, "arm": t.info["arm"], "method": t.info["method"],
                    "variant": t.info["variant"], "seed": t.info["seed"],
                    "label": f"{t.info['arm']} {t.info['variant']}" + (f" s{t.info['seed']}" if len(recipe.seeds) > 1 else ""),
                    "status": status_, "train_cell": t.id, "eval_cell": ev.id, **(nums or {}),
                    "train_peak_memory_bytes": (metrics or {}).get("peak_memory_bytes"),
                    "trainable_params": (metrics or {}).get("trainable_params"),
                    "train_wall_s": (metrics or {}).get("wall_time_s"),
                    "train_steps": (metrics or {}).get("steps"),
                    "teacher_cost_usd": (costs.get(t.info["dataset"]) or {}).get("cost_usd"),
                    "comparison": _comparison(comp),
                })  # fmt: skip
    return {
        "experiment": recipe.name,
        "description": recipe.description,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "benchmarks": list(recipe.benchmarks),
        "metrics": list(recipe.metrics),
        "data": costs,
        "rows": rows,
        "cells": cell_rows,
        "note": "Each variant is compared with its base on the same items inside its eval cell: difference "
        "of pass@1 (headline extraction), paired bootstrap 95% CI, McNemar's exact p. Missing cells are null.",
    }


def _comparison(c: dict[str, Any] | None) -> dict[str, Any] | None:
    if not c:
        return None
    keys = ("n", "diff", "ci_low", "ci_high", "mcnemar_p", "won", "lost", "tied", "significant", "verdict")
    return {k: c.get(k) for k in keys}


# --- rendering ---------------------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v * 100:.1f}"


def _num(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _columns(metrics: list[str]) -> list[tuple[str, Any]]:
    cols: list[tuple[str, Any]] = []
    if "accuracy" in metrics:
        cols += [
            ("accuracy % ± SE [95% CI]", lambda r: f"{r['accuracy']['value'] * 100:.1f} ± {r['accuracy']['se'] * 100:.1f} "
             f"[{r['accuracy']['ci_low'] * 100:.1f}, {r['accuracy']['ci_high'] * 100:.1f}]"),
            ("no answer %", lambda r: _pct(r["extraction_failures"])),
        ]  # fmt: skip
    if "pass@k" in metrics:
        cols.append(
            ("pass@k %", lambda r: ", ".join(f"@{k} {v * 100:.1f}" for k, v in r["pass_at_k"].items()))
        )
    if "bleu" in metrics:
        cols.append(("BLEU", lambda r: _num(r["bleu"], ".1f")))
    if "latency" in metrics:
        cols += [
            ("latency s", lambda r: _num(r["latency_s"], ".2f")),
            ("tokens/s", lambda r: _num(r["tokens_per_s"], ".1f")),
        ]
    if "memory" in metrics:
        cols += [("infer peak", lambda r: format_bytes(r["infer_peak_memory_bytes"])),
                 ("train peak", lambda r: format_bytes(r.get("train_peak_memory_bytes")))]  # fmt: skip
    if "params" in metrics:
        cols.append(
            (
                "trainable params",
                lambda r: "-" if not r.get("trainable_params") else f"{r['trainable_params']:,}",
            )
        )
    if "train_time" in metrics:
        cols.append(("train wall s", lambda r: _num(r.get("train_wall_s"), ".1f")))
    if "teacher_cost" in metrics:
        cols.append(("data teacher cost $", lambda r: _num(r.get("teacher_cost_usd"), ".4f")))
    return cols


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def markdown(data: dict[str, Any], charts: dict[str, str]) -> str:
    cols = _columns(data["metrics"])
    lines = [f"# Experiment {data['experiment']}", ""]
    if data.get("description"):
        lines += [data["description"].strip(), ""]
    for bench, rows in data["rows"].items():
        lines += [f"## {bench}", ""]
        body = []
        for r in rows:
            model = r["label"] if r["kind"] == "arm" else f"**{r['label']}**"
            if r["status"] != "ok":
                body.append([r["base"], model, *([r["status"].upper()] + [""] * (len(cols) - 1))])
            else:
                body.append([r["base"], model, *(f(r) for _, f in cols)])
        lines += _table(["base", "model", *(h for h, _ in cols)], body)
        comps = [r for r in rows if r["kind"] == "arm"]
        if comps:
            lines += ["", "Paired against the base (same items):", ""]
            body = []
            for r in comps:
                c = r["comparison"]
                if c is None:
                    body.append([r["base"], r["label"], r["status"].upper(), "", "", "", ""])
                    continue
                p = "-" if c["mcnemar_p"] is None else f"{c['mcnemar_p']:.3g}"
                body.append([r["base"], r["label"], f"{c['diff'] * 100:+.1f}",
                             f"[{c['ci_low'] * 100:+.1f}, {c['ci_high'] * 100:+.1f}]", p,
                             f"{c['won']}/{c['lost']}/{c['tied']}", "yes" if c["significant"] else "no"])  # fmt: skip
            lines += _table(
                ["base", "variant", "diff pts", "95% CI", "McNemar p", "won/lost/tied", "difference?"], body
            )
            lines.append("")
            for r in comps:
                c = r["comparison"]
                if c is None:
                    lines.append(f"- {r['label']} vs {r['base']}: no comparison ({r['status']}).")
                elif c["significant"]:
                    lines.append(f"- {r['label']} vs {r['base']}: the data support a difference "
                                 f"({c['diff'] * 100:+.1f} pts, 95% CI [{c['ci_low'] * 100:+.1f}, {c['ci_high'] * 100:+.1f}], n={c['n']}).")  # fmt: skip
                else:
                    lines.append(f"- {r['label']} vs {r['base']}: the data do not support a difference "
                                 f"({c['diff'] * 100:+.1f} pts, 95% CI [{c['ci_low'] * 100:+.1f}, {c['ci_high'] * 100:+.1f}] spans 0, n={c['n']}).")  # fmt: skip
        if bench in charts:
            lines += ["", f"![{bench}]({charts[bench]})"]
        lines.append("")
    lines += ["## Data", ""]
    for key, cost in data["data"].items():
        if cost is None:
            lines.append(f"- {key}: missing")
        else:
            shown = "-" if cost.get("cost_usd") is None else f"${cost['cost_usd']:.4f}"
            lines.append(f"- {key}: teacher cost {shown}, {cost.get('tokens_in') or 0:,} prompt + "
                         f"{cost.get('tokens_out') or 0:,} completion tokens"
                         + (f" ({cost['teacher']}, {cost['records']} records)" if cost.get("teacher") else ""))  # fmt: skip
    lines += ["", "## Cells", ""]
    body = [[c["id"], c["status"], _num(c["seconds"], ".1f"), f"`{c['output']}`", (c.get("error") or "")[:160].replace("|", "/")]
            for c in data["cells"]]  # fmt: skip
    lines += _table(["cell", "status", "seconds", "output", "error"], body)
    total = sum(c["seconds"] or 0 for c in data["cells"])
    lines += ["", f"Measured cell time: {total:.0f} s in all.", "", data["note"], ""]
    return "\n".join(lines)


def plot(bench: str, rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{r['base']}\n{r['label']}" if r["kind"] == "arm" else f"{r['base']}\nuntuned" for r in rows]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.1 * len(rows) + 1.5), 3.6))
    for i, r in enumerate(rows):
        if r["status"] != "ok":
            ax.text(i, 2, r["status"], ha="center", va="bottom", rotation=90, color="gray", fontsize=8)
            continue
        a = r["accuracy"]
        v = a["value"] * 100
        ax.bar(i, v, color="#888888" if r["kind"] == "base" else "#3b75af")
        ax.errorbar(i, v, yerr=[[v - a["ci_low"] * 100], [a["ci_high"] * 100 - v]], color="black", capsize=4)
        ax.text(i + 0.08, v + 1, f"{v:.1f}", ha="left", va="bottom", fontsize=8)
    ax.set_xticks(range(len(rows)), labels, fontsize=7)
    ax.set_ylabel("accuracy % (95% CI)")
    ax.set_ylim(0, 100)
    ax.set_title(bench)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(recipe: Recipe, cells: list[Cell]) -> Path:
    from rft.store.fsutil import replace_atomic

    root = recipe.folder
    data = gather(recipe, cells)
    charts: dict[str, str] = {}
    try:
        root.mkdir(parents=True, exist_ok=True)
        for bench, rows in data["rows"].items():
            name = f"{bench}.png"
            plot(bench, rows, root / name)
            charts[bench] = name
        replace_atomic(root / RESULTS, (json.dumps(data, indent=2) + "\n").encode())
        replace_atomic(root / REPORT, markdown(data, charts).encode())
    except OSError as exc:
        raise write_error(exc, root) from exc
    return root / REPORT
