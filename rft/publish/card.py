"""The Hub dataset card of a version (README.md): the store's card (rft.store.card: its header, summary
table and examples) extended with what a reader of the Hub needs: the license and the configs in the
YAML, how the traces were made (rft.generate.card's section, from the generating ancestor's manifest),
backtrack statistics, the decontamination summary, the lineage, and how to load and train on it."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import rft
from rft.errors import RftError
from rft.publish.layout import CONFIG_TEXT, data_file
from rft.publish.licenses import Source
from rft.schemas import Manifest, Record, RecordCounts
from rft.store import LoadedVersion, Store, format_ref, parse_ref
from rft.store.card import (
    DESCRIPTION,
    _md_cell,
    card_header,
    example_lines,
    front_matter,
    summary_rows,
    table_lines,
)

PROMPT_DIRS = ("generate/prompts", "verify/prompts")


def lineage(store: Store, lv: LoadedVersion) -> list[tuple[str, Manifest | None]]:
    """This version and its ancestors (parent versions, merged versions), nearest first; an ancestor
    that cannot be read is listed with None."""
    out: list[tuple[str, Manifest | None]] = []
    queue: list[tuple[str, Manifest | None]] = [(lv.ref, lv.manifest)]
    seen: set[str] = set()
    while queue:
        ref, m = queue.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        out.append((ref, m))
        if m is None:
            continue
        parents = list(m.parents) or ([format_ref(m.name, m.parent)] if m.parent else [])
        for p in parents:
            try:
                name, version = parse_ref(p)
                queue.append((p, store.read_manifest(name, version)))
            except RftError:
                queue.append((p, None))
    return out


def prompts_digest() -> tuple[str, list[str]]:
    """sha256 over the prompt files this rft ships (names and bytes, sorted) and their folders."""
    root = Path(rft.__file__).resolve().parent
    h = hashlib.sha256()
    for d in PROMPT_DIRS:
        for p in sorted((root / d).glob("*")):
            if p.is_file():
                h.update(f"{d}/{p.name}\0".encode())
                h.update(p.read_bytes())
                h.update(b"\0")
    return h.hexdigest(), [f"rft/{d}/" for d in PROMPT_DIRS]


def _generation(generated: list[tuple[str, Manifest]]) -> list[str]:
    from rft.generate.card import generation_lines
    from rft.generate.config import GenerateConfig

    lines = ["", "## How it was generated", ""]
    if not generated:
        return [
            *lines,
            "No `rft generate` version in the lineage: the records came from elsewhere (see lineage).",
        ]
    digest, dirs = prompts_digest()
    for ref, m in generated:
        lines += [f"### {ref}", ""]
        try:
            cfg = GenerateConfig.model_validate(m.config)
        except Exception:  # a manifest of another rft's config: what the manifest itself says
            cfg = None
        if cfg is not None:
            body = generation_lines(m.model_dump(mode="json"), cfg, int(m.counts.get("records", 0)))
            lines += body[3:] if body[:2] == ["", "## How these traces were made"] else body
            judge = (cfg.judge or cfg.teacher).spec if cfg.search.validator != "answer" else None
            budgets = [
                f"max cost ${cfg.search.max_cost_usd:g}" if cfg.search.max_cost_usd else None,
                f"max tokens per problem {cfg.search.max_tokens_per_problem}"
                if cfg.search.max_tokens_per_problem
                else None,
                f"tokens per step {cfg.search.max_tokens_per_step}",
                f"tokens per judgement {cfg.search.judge_max_tokens}",
            ]
            lines.append(
                f"- judge model: `{judge}`"
                if judge
                else "- judge: none (steps checked by the answer validator)"
            )
            lines.append("- budgets: " + "; ".join(b for b in budgets if b))
            custom = [f"{k} `{Path(v).name}`" for k, v in (("step prompt", cfg.search.prompt_template),
                      ("judge prompt", cfg.search.judge_template)) if v]  # fmt: skip
        else:
            lines.append(f"- teacher: `{m.teacher or '-'}`; validator: `{m.validator or '-'}`; strategy "
                         f"`{m.metadata.get('strategy', '-')}`")  # fmt: skip
            custom = []
        commit = m.git_commit or "unknown"
        same = m.git_commit is not None and m.git_commit.split("+")[0] == (_here() or "").split("+")[0]
        lines.append(
            f"- prompts: the package's {' and '.join(f'`{d}`' for d in dirs)} of rft {m.rft_version} (git {commit})"
            + (f", sha256 `{digest[:16]}`" if same else
               f"; read them at that commit (this rft's, git {_here() or 'unknown'}, hash to `{digest[:16]}`)")
            + (f"; custom: {', '.join(custom)}" if custom else "")
        )  # fmt: skip
        if m.command:
            lines.append("- command: `" + " ".join(m.command).replace("`", "'") + "`")
        lines.append("")
    return lines


def _here() -> str | None:
    from rft.store.store import git_commit

    return git_commit()


def _backtracks(records: list[Record]) -> list[str]:
    n = len(records)
    per = [r.outcome.backtracks for r in records]
    buckets = Counter(min(b, 3) for b in per)
    trainable = [r.outcome.backtracks for r in records if r.outcome.trainable]
    lines = ["", "## Backtracks", ""]
    if not n:
        return [*lines, "No records."]
    rows = [
        ("backtracks in all", str(sum(per))),
        ("mean per record", f"{sum(per) / n:.2f}"),
        ("most in one record", str(max(per))),
        ("records with 0 / 1 / 2 / 3+", " / ".join(str(buckets.get(k, 0)) for k in range(4))),
        ("mean per trainable record", f"{sum(trainable) / len(trainable):.2f}" if trainable else "-"),
    ]
    return [*lines, *table_lines(rows)]


def _decontamination(store: Store, chain: list[tuple[str, Manifest | None]]) -> list[str]:
    lines = ["", "## Decontamination", ""]
    found = next(
        ((ref, m) for ref, m in chain if m is not None and m.stage == "validate" and m.validation), None
    )
    if found is None:
        return [*lines, "None: no version in this lineage went through `rft validate`, so nothing was checked "
                "against benchmark test sets, deduplicated or re-verified."]  # fmt: skip
    ref, m = found
    v: dict[str, Any] = m.validation or {}
    cfg: dict[str, Any] = (m.config or {}).get("validate", {})
    report = _report(store, m)
    sources = report.get("benchmark_sources") or {
        b: {"kind": k} for b, k in (v.get("benchmark_sources") or {}).items()
    }
    bench = (
        ", ".join(
            f"{b} ({s.get('kind', '?')}" + (f", {s['items']} test items" if s.get("items") else "") + ")"
            for b, s in sources.items()
        )
        or "-"
    )
    method = cfg.get("method", v.get("method"))
    thresholds = [f"lexical `{method}` threshold {cfg.get('threshold')}"]
    if cfg.get("semantic") or v.get("semantic"):
        thresholds.append(
            f"semantic cosine {cfg.get('semantic_threshold')} (ambiguous band from {cfg.get('suspect_threshold')}"
            + (f", LLM judge above {cfg.get('judge_floor')}" if v.get("judge") else "")
            + ")"
        )
    thresholds.append(f"near-duplicate Jaccard {cfg.get('dedup_threshold')}")
    flags = v.get("flags") or {}
    contam = v.get("contamination_by_benchmark") or {}
    rows = [
        ("validated in", ref + ("" if ref == chain[0][0] else " (an ancestor of this version)")),
        ("benchmarks", bench),
        ("method", "; ".join(thresholds)),
        (
            "records in / out",
            f"{v.get('records_in', '-')} / {v.get('records_out', '-')} ({v.get('dropped', 0)} dropped)",
        ),
        ("contaminated (dropped)", ", ".join(f"{b}: {n}" for b, n in contam.items()) or "0"),
        ("suspects (kept, to look at)", str(flags.get("suspect", 0))),
        ("duplicates / near-duplicates", f"{flags.get('duplicate', 0)} / {flags.get('near_duplicate', 0)}"),
        ("flags by check", ", ".join(f"{k}: {n}" for k, n in flags.items()) or "none"),
    ]
    return [*lines, *table_lines(rows), "",
            "Every flag, with the benchmark item and the evidence, is in `validation_report.json`."]  # fmt: skip


def _report(store: Store, m: Manifest) -> dict[str, Any]:
    import json

    name = (m.validation or {}).get("report")
    if not name or name not in m.files:
        return {}
    try:
        _, path = store.resolve(m.name, m.version)
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (RftError, OSError, ValueError):
        return {}


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def _lineage_lines(chain: list[tuple[str, Manifest | None]]) -> list[str]:
    lines = ["", "## Lineage", ""]
    for ref, m in chain:
        if m is None:
            lines.append(f"- {ref}: not in this store")
            continue
        parents = list(m.parents) or ([format_ref(m.name, m.parent)] if m.parent else [])
        src = f" from {', '.join(parents)}" if parents else ""
        sha = (m.manifest_sha256 or "unverified")[:16]
        lines.append(
            f"- {ref}: `{m.stage}`{src}, {_n(int(m.counts.get('records', 0)), 'record')}, {m.created_at}, manifest sha256 `{sha}`"
        )
    return lines


def dataset_card(
    store: Store,
    lv: LoadedVersion,
    *,
    repo_id: str | None,
    license: str,
    sources: list[Source],
    rows: dict[str, int],
) -> str:
    m = lv.manifest
    counts = RecordCounts.of(lv.records)
    repo = repo_id or "OWNER/NAME"
    tag = f"v{lv.version}"
    header = card_header(m, counts)
    header["license"] = license
    header["tags"] = [*header["tags"], *sorted(counts.domains)]
    header["source_datasets"] = sorted({s.hub_id for s in sources if s.hub_id}) or ["original"]
    header["configs"] = [
        {
            "config_name": c,
            "data_files": [{"split": "train", "path": data_file(c).replace("00000-of-00001", "*")}],
            **({"default": True} if c == "default" else {}),
        }
        for c, n in rows.items()
        if n
    ]
    chain = lineage(store, lv)
    generated = [(ref, gm) for ref, gm in chain if gm is not None and gm.stage == "generate"]
    first = DESCRIPTION
    if not m.is_validated:
        first = (
            f"**Not validated: {lv.ref} never went through `rft validate`** (published with "
            "`--allow-unvalidated`): its records were not deduplicated, not checked against benchmark "
            "test sets for contamination, and their answers were not re-verified. " + DESCRIPTION
        )
    src_text = ", ".join(f"{s.name} ({s.license or 'license unknown'})" for s in sources) or "-"
    summary = [*summary_rows(m, counts)]
    summary.insert(
        3,
        (
            "trainable (solved and correct)",
            f"{counts.trainable} ({counts.trainable / counts.records:.1%})" if counts.records else "0",
        ),
    )
    summary.append(("problem sources", src_text))
    summary.append(("license", license))
    lines = [
        *front_matter(header),
        "",
        f"# {m.name} (v{m.version})",
        "",
        first,
        "",
        f"Published from `{lv.ref}` of an rft store under the tag `{tag}`: "
        f'`load_dataset("{repo}", revision="{tag}")` gives exactly this version.',
        "",
        *table_lines(summary),
        *_generation(generated),
        *_backtracks(lv.records),
        *_decontamination(store, chain),
        *_lineage_lines(chain),
        "",
        "## Configs",
        "",
        "| config | rows | what |",
        "|---|---|---|",
        *(f"| `{c}` | {n} | {_md_cell(CONFIG_TEXT[c], 200)} |" for c, n in rows.items()),
        "",
        "Columns (every config): `id`, `question`, `answer` (gold), `domain`, `messages` (the chat to train on), "
        "`solved`, `correct`, `trainable`, `backtracks`, `render` (the renderer of `messages`), and `record`: "
        "the whole rft record as JSON (problem, the search tree and event log in `trace`, outcome), so "
        "nothing is lost and any rendering can be made again.",
        "",
        "## Load",
        "",
        "```python",
        "from datasets import load_dataset",
        "",
        f'ds = load_dataset("{repo}", revision="{tag}", split="train")  # every record',
        f'train = load_dataset("{repo}", "solved_correct", revision="{tag}", split="train")',
        f'baseline = load_dataset("{repo}", "path", revision="{tag}", split="train")  # path only, no backtracks',
        "```",
        "",
        "## Train",
        "",
        f"With rft, from the store it was published from: `rft train {lv.ref}` (LoRA SFT on the trainable "
        f"records, loss on the assistant turn; `--render path` for the path-only baseline).",
        "",
        "With TRL directly:",
        "",
        "```python",
        "from datasets import load_dataset",
        "from trl import SFTConfig, SFTTrainer",
        "",
        f'ds = load_dataset("{repo}", "solved_correct", revision="{tag}", split="train")',
        "trainer = SFTTrainer(",
        '    model="HuggingFaceTB/SmolLM2-135M-Instruct",',
        '    train_dataset=ds.select_columns(["messages"]),',
        '    args=SFTConfig(output_dir="sft-out"),',
        ")",
        "trainer.train()",
        "```",
        "",
        "## Provenance",
        "",
        f"`manifest.json` is the sealed manifest of {lv.ref} (the sha256 of every file, the resolved "
        "configs, the command lines, the rft version and git commit); `validation_report.json` (when "
        "present) is the report of `rft validate`; `rft_publish.json` names the version and its checksums.",
        *example_lines(counts),
    ]
    return "\n".join(lines) + "\n"
