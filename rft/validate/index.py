"""The benchmark side of decontamination: the lexical index over every benchmark text (and the shipped
fingerprints where no text is at hand), with the texts themselves for evidence and the judge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rft.errors import ConfigError
from rft.validate import fingerprints as fp_mod
from rft.validate.benchmarks import BenchSource, resolve_sources
from rft.validate.decontam import Entry, EntryGrams, LexicalIndex, entry_grams, get_method

if TYPE_CHECKING:
    from rft.validate.config import ValidateConfig


@dataclass
class BenchmarkIndex:
    lexical: LexicalIndex
    sources: dict[str, BenchSource]
    texts: dict[Entry, str]  # benchmark text by entry (empty for fingerprint sources)
    fingerprints: fp_mod.Fingerprints | None

    def describe_sources(self) -> dict[str, dict[str, Any]]:
        out = {}
        for b, s in self.sources.items():
            d = s.describe()
            if s.kind == "fingerprints" and self.fingerprints is not None:
                d["items"] = self.fingerprints.counts.get(b, 0)
                d["built"] = self.fingerprints.provenance.get("created_at")
                d["sha256"] = [x["sha256"] for x in self.fingerprints.provenance["sources"].get(b, [])]
            out[b] = d
        return out


def build_index(cfg: ValidateConfig) -> BenchmarkIndex:
    method = get_method(cfg.method)
    sources = resolve_sources(cfg.benchmarks, cfg.benchmark_dir, cfg.benchmark_paths, hub=cfg.hub)
    shipped = [b for b, s in sources.items() if s.kind == "fingerprints"]
    fps = None
    if shipped:
        if method.name != "containment":
            raise ConfigError(
                f"--method {method.name} needs benchmark text, and {', '.join(shipped)} could only come "
                "from the shipped fingerprints (containment n-grams): pass --benchmark-dir DIR or "
                "--benchmark-path NAME=FILE"
            )
        fps = fp_mod.load(shipped, embeddings=cfg.semantic)
    bits = fp_mod.GRAM_BITS if fps is not None else 48
    items: list[EntryGrams] = []
    texts: dict[Entry, str] = {}
    for b, src in sources.items():
        for it in src.items:
            for fname, text in it.fields.items():
                if not text or not text.strip():
                    continue
                e = Entry(b, it.item_id, fname)
                texts[e] = text
                items.append(entry_grams(e, text, method, bits=bits))
    if fps is not None:
        items.extend(fps.items)
    lexical = LexicalIndex(method, items, bits=bits, threshold=cfg.threshold)
    return BenchmarkIndex(lexical, sources, texts, fps)
