"""Lexical decontamination: score every benchmark item by the share of its n-grams found in a record.

Methods:
- `containment` (default): number-masked word 5-grams; an item's score is the share of its
  informative n-grams (those shared by few benchmark items) present in the record; flagged at
  >= threshold. Items with too few informative n-grams need an exact normalised match. A hit that
  rests on fewer than WEAK_SPANS * n informative n-grams while no record segment is the whole item
  (a short or templated item inside its one-word twin) is weak evidence: with a judge, the judge
  decides it (`rft.validate.run.split_weak`); without one it is dropped like any hit.
- `ngram13` (GPT-3 / lm-evaluation-harness) and `ngram8` (open-r1): unmasked word n-grams; one
  shared n-gram flags the record (or, with an explicit threshold, containment >= threshold).

Records are scored in batches with numpy: all n-gram hashes of a batch are looked up at once in a
sorted key array (an inverted index from n-gram hash to benchmark entries), then counted per
(record, entry) pair.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rft.errors import ConfigError
from rft.validate import tokens as tok
from rft.validate.normalize import rolling

EXACT_MAX_TOKENS = 64  # an entry this short (in tokens) may be matched exactly
# Gold solutions keep their numbers even in masked methods: a regurgitated solution carries the
# same numbers, while masked solution n-grams ("so he has to pay <num>") are generic.
UNMASKED_FIELDS = frozenset({"solution"})
SOLUTION_THRESHOLD = 0.5  # containment a gold-solution entry needs (when a threshold applies)
# A containment hit is weak evidence when it rests on fewer than WEAK_SPANS * n informative n-grams
# (about three n-gram widths of informative text: one changed word removes up to n n-grams, so a short
# or templated item and its one-word twin share that much) and no record segment is the whole item
# (same unmasked token sequence). With a judge such a hit is asked about; without one it is dropped.
WEAK_SPANS = 3


@dataclass(frozen=True)
class Method:
    name: str
    n: int
    masked: bool
    drop_common: bool
    threshold: float | None  # None: any shared n-gram flags


METHODS: dict[str, Method] = {
    "containment": Method("containment", 5, True, True, 0.35),
    "ngram13": Method("ngram13", 13, False, False, None),
    "ngram8": Method("ngram8", 8, False, False, None),
}


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"--method: unknown method {name!r} (choose from {', '.join(METHODS)})")
    return METHODS[name]


@dataclass(frozen=True)
class Entry:
    """One indexed text: a field (question, solution, tests) of one benchmark item."""

    benchmark: str
    item_id: str
    field: str


@dataclass
class EntryGrams:
    """What the index needs of one entry: its n-gram hashes and, if short, its exact hash."""

    entry: Entry
    grams: np.ndarray  # unique n-gram hashes for the method (uint64, `bits` wide)
    exact_len: int = 0  # unmasked token count if <= EXACT_MAX_TOKENS, else 0
    exact_hash: int = 0  # 48-bit hash of the whole unmasked token sequence
    exact_masked_hash: int = 0  # the same, numbers masked


@dataclass
class Hit:
    entry: int
    score: float
    shared: int
    exact: bool = False


def entry_grams(entry: Entry, text: str, method: Method, bits: int = 48) -> EntryGrams:
    """Hash one benchmark text for `method`."""
    t = tok.tokens(tok.prepare(text))
    masked = method.masked and entry.field not in UNMASKED_FIELDS
    ids = t.masked if masked else t.raw
    grams = np.unique(rolling(ids, method.n)) if len(ids) >= method.n else np.empty(0, np.uint64)
    grams = _reduce(grams, bits)
    ex_len, ex_hash, ex_masked = 0, 0, 0
    if 0 < len(t.raw) <= EXACT_MAX_TOKENS:
        ex_len = len(t.raw)
        ex_hash, ex_masked = int(rolling(t.raw, ex_len)[0]), int(rolling(t.masked, ex_len)[0])
    return EntryGrams(entry, grams, ex_len, ex_hash, ex_masked)


def _reduce(h: np.ndarray, bits: int) -> np.ndarray:
    return h if bits >= 48 else np.unique(h & np.uint64((1 << bits) - 1))


@dataclass
class _Batch:
    ids: np.ndarray  # method token ids (masked if the method masks)
    raw: np.ndarray  # unmasked token ids
    seg: np.ndarray  # segment of each token
    seg_doc: np.ndarray  # doc of each segment


def _csr(grams: np.ndarray, ents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique keys, and for each key its slice of `postings` (the entries holding it)."""
    order = np.lexsort((ents, grams))
    grams, ents = grams[order], ents[order]
    keys, starts = np.unique(grams, return_index=True)
    return keys, np.append(starts, len(grams)).astype(np.int64), ents


def _lookup(keys: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of g found in keys, key positions of the found ones)."""
    if not len(keys) or not len(g):
        return np.zeros(len(g), dtype=bool), np.empty(0, np.int64)
    pos = np.searchsorted(keys, g)
    pos[pos >= len(keys)] = 0
    found = keys[pos] == g
    return found, pos[found]


def _pair_counts(
    doc: np.ndarray, pos: np.ndarray, indptr: np.ndarray, postings: np.ndarray, n_entries: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For (doc, matched key) pairs: each (doc, entry) pair and how many distinct keys it shares."""
    nk = len(indptr) - 1
    pair = np.unique(doc * nk + pos)
    doc, pos = pair // nk, pair % nk
    cnt = indptr[pos + 1] - indptr[pos]
    total = int(cnt.sum())
    if not total:
        e = np.empty(0, np.int64)
        return e, e, e
    offs = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    ent = postings[np.repeat(indptr[pos], cnt) + offs]
    uniq, counts = np.unique(np.repeat(doc, cnt) * n_entries + ent, return_counts=True)
    return uniq // n_entries, uniq % n_entries, counts


BITMAP_BITS = 24
_BITMAP_MASK = np.uint64((1 << BITMAP_BITS) - 1)


class LexicalIndex:
    """Inverted index from n-gram hash to benchmark entries, for one method."""

    def __init__(
        self,
        method: Method,
        items: Sequence[EntryGrams],
        *,
        bits: int = 48,
        threshold: float | None = None,
        max_df: int = 8,
        min_grams: int = 8,
        exact_masked_min: int = 8,
    ) -> None:
        self.method = method
        self.bits = bits
        self.threshold = method.threshold if threshold is None else threshold
        self.entries = [it.entry for it in items]
        self.entry_grams = [it.grams for it in items]
        self.max_df = max_df
        n_entries = len(items)
        # document frequency counted over items (an item's fields count once)
        item_key: dict[tuple[str, str], int] = {}
        item_of_entry = np.array(
            [item_key.setdefault((e.benchmark, e.item_id), len(item_key)) for e in self.entries],
            dtype=np.int64,
        )
        lens = np.array([len(g) for g in self.entry_grams], dtype=np.int64)
        every_g = np.concatenate(self.entry_grams) if n_entries else np.empty(0, np.uint64)
        every_e = np.repeat(np.arange(n_entries, dtype=np.int64), lens)
        all_g, all_e = every_g, every_e
        if method.drop_common and len(all_g):
            pairs = np.unique(np.stack([all_g, item_of_entry[all_e].astype(np.uint64)]), axis=1)
            uniq, df = np.unique(pairs[0], return_counts=True)
            keep = ~np.isin(all_g, uniq[df > max_df])
            all_g, all_e = all_g[keep], all_e[keep]
        self.common_dropped = int(lens.sum() - len(all_g))
        size = np.bincount(all_e, minlength=n_entries)
        # entries with too few informative n-grams need an exact normalised match instead
        ex_len = np.array([it.exact_len for it in items], dtype=np.int64)
        exact = (size < (min_grams if method.drop_common else 1)) & (ex_len >= 3)
        keep = ~exact[all_e]
        self.size = np.maximum(size, 1)
        # gold solutions are formulaic (short, numeric): they need a larger share to flag
        self.entry_threshold = np.full(n_entries, self.threshold if self.threshold is not None else 0.0)
        if self.threshold is not None:
            is_sol = np.array([e.field in UNMASKED_FIELDS for e in self.entries], dtype=bool)
            self.entry_threshold[is_sol] = max(self.threshold, SOLUTION_THRESHOLD)
        self.exact_only = exact
        self.keys, self.indptr, self.postings = _csr(all_g[keep], all_e[keep])
        # Exact matches of the whole token sequence; numbers are masked only when the entry is long
        # enough that its masked form is still specific. Entries shorter than n: hashed windows of
        # their length. Longer ones: all their n-grams must be present, then the sequence is checked.
        self.exact_len = ex_len
        self.exact_raw_hash = np.array([it.exact_hash for it in items], dtype=np.uint64)
        self.exact_masked = np.array(
            [method.masked and it.exact_len >= exact_masked_min for it in items], dtype=bool
        )
        self.exact_hash = np.array(
            [
                it.exact_masked_hash if m else it.exact_hash
                for it, m in zip(items, self.exact_masked, strict=True)
            ],
            dtype=np.uint64,
        )
        short: dict[tuple[bool, int], list[tuple[int, int]]] = {}
        for i in np.nonzero(exact & (ex_len < method.n))[0]:
            key = (bool(self.exact_masked[i]), int(ex_len[i]))
            short.setdefault(key, []).append((int(self.exact_hash[i]), int(i)))
        self.exact_short = {
            key: (np.array([h for h, _ in rows], np.uint64), np.array([i for _, i in rows], np.int64))
            for key, rows in ((k, sorted(v)) for k, v in short.items())
        }
        long_e = exact & (ex_len >= method.n)
        sel = long_e[every_e]
        self.long_size = np.bincount(every_e[sel], minlength=n_entries)
        self.long_keys, self.long_indptr, self.long_postings = _csr(every_g[sel], every_e[sel])
        # a bitset over the low bits of every key (2 MB): most n-grams of a record skip the search
        self._bits = np.zeros(1 << (BITMAP_BITS - 3), dtype=np.uint8)
        for k in (self.keys, self.long_keys, *(keys for keys, _ in self.exact_short.values())):
            low = (k & _BITMAP_MASK).astype(np.int64)
            np.bitwise_or.at(self._bits, low >> 3, (1 << (low & 7)).astype(np.uint8))

    # --- scoring -------------------------------------------------------------------------------
    def _batch(self, docs: Sequence[Sequence[str]]) -> _Batch:
        texts: list[str] = []
        seg_doc: list[int] = []
        for d, segments in enumerate(docs):
            for text in segments:
                if text:
                    texts.append(text)
                    seg_doc.append(d)
        b = tok.batch(texts)
        ids = b.masked if self.method.masked else b.raw
        return _Batch(ids, b.raw, b.seg, np.array(seg_doc, dtype=np.int64))

    @staticmethod
    def _valid(h: np.ndarray, seg: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Keep the windows that lie inside one segment; also return each one's segment."""
        if not len(h):
            return h, np.empty(0, np.int64)
        ok = seg[: len(h)] == seg[n - 1 : n - 1 + len(h)]
        return h[ok], seg[: len(h)][ok]

    def score(self, docs: Sequence[Sequence[str]]) -> list[list[Hit]]:
        """For each doc (a list of text segments), the entries it matches above the threshold."""
        hits: list[list[Hit]] = [[] for _ in docs]
        if not docs:
            return hits
        b = self._batch(docs)
        n = self.method.n
        g, gseg = self._valid(rolling(b.ids, n), b.seg, n)
        if self.method.masked:  # solutions are indexed unmasked
            g2, gseg2 = self._valid(rolling(b.raw, n), b.seg, n)
            g, gseg = np.concatenate([g, g2]), np.concatenate([gseg, gseg2])
        if self.bits < 48:
            g = g & np.uint64((1 << self.bits) - 1)
        maybe = self._maybe(g)
        g, gseg = g[maybe], gseg[maybe]
        order = np.argsort(g, kind="stable")  # sorted needles make the binary searches cache-friendly
        g, gseg = g[order], gseg[order]
        gdoc = b.seg_doc[gseg] if len(gseg) else gseg
        ne = len(self.entries)
        found, pos = _lookup(self.keys, g)
        if len(pos):
            docs_u, ents_u, counts = _pair_counts(gdoc[found], pos, self.indptr, self.postings, ne)
            scores = counts / self.size[ents_u]
            sel = counts >= 1 if self.threshold is None else scores >= self.entry_threshold[ents_u] - 1e-12
            for d, e, sc, c in zip(docs_u[sel], ents_u[sel], scores[sel], counts[sel], strict=True):
                hits[int(d)].append(Hit(int(e), float(sc), int(c)))
        # exact matches, short entries: windows of their length
        for (use_mask, length), (keys, ents) in self.exact_short.items():
            h, hseg = self._valid(rolling(b.ids if use_mask else b.raw, length), b.seg, length)
            maybe = self._maybe(h)
            h, hseg = h[maybe], hseg[maybe]
            f, p = _lookup(keys, h)
            for d, e in set(zip(b.seg_doc[hseg[f]].tolist(), ents[p].tolist(), strict=True)):
                hits[d].append(Hit(e, 1.0, 1, exact=True))
        # exact matches, longer entries: every n-gram present, then the whole sequence checked
        found, pos = _lookup(self.long_keys, g)
        if len(pos):
            docs_u, ents_u, counts = _pair_counts(gdoc[found], pos, self.long_indptr, self.long_postings, ne)
            full = counts >= self.long_size[ents_u]
            for d, e in zip(docs_u[full].tolist(), ents_u[full].tolist(), strict=True):
                if self._contains_exact(b, d, e):
                    hits[d].append(Hit(e, 1.0, int(self.long_size[e]), exact=True))
        for row in hits:
            row.sort(key=lambda x: (-x.score, x.entry))
        return hits

    def _maybe(self, h: np.ndarray) -> np.ndarray:
        """False where a hash is certainly not a key (bitset over its low bits)."""
        low = (h & _BITMAP_MASK).astype(np.int64)
        return ((self._bits[low >> 3] >> (low & 7).astype(np.uint8)) & 1).astype(bool)

    def _contains_exact(self, b: _Batch, doc: int, entry: int) -> bool:
        """Does one of `doc`'s segments contain the entry's whole token sequence?"""
        length = int(self.exact_len[entry])
        ids = b.ids if self.exact_masked[entry] else b.raw
        for seg in np.nonzero(b.seg_doc == doc)[0]:
            lo, hi = np.searchsorted(b.seg, [seg, seg + 1])
            if hi - lo >= length and (rolling(ids[lo:hi], length) == self.exact_hash[entry]).any():
                return True
        return False

    @property
    def weak_min(self) -> int:
        """Informative n-grams a containment hit needs to be strong evidence on its own."""
        return WEAK_SPANS * self.method.n

    def is_weak(self, hit: Hit, texts: Sequence[str]) -> bool:
        """Is `hit` weak evidence (see WEAK_SPANS)? Only containment hits can be: the classic rules
        (ngram13/ngram8) flag on one shared n-gram by definition. An exact hit is on an item with too
        few informative n-grams, so it is weak unless a segment is that whole item."""
        if not self.method.drop_common or (not hit.exact and hit.shared >= self.weak_min):
            return False
        length = int(self.exact_len[hit.entry])
        if not length:
            return True
        target = self.exact_raw_hash[hit.entry]
        for text in texts:
            raw = tok.tokens(tok.prepare(text)).raw
            if len(raw) == length and int(rolling(raw, length)[0]) == int(target):
                return False
        return True

    # --- evidence ------------------------------------------------------------------------------
    def evidence(self, segments: Sequence[tuple[str, str]], hit: Hit, max_chars: int = 240) -> dict[str, str]:
        """The longest overlapping span (normalised text) of `hit`'s entry in a record's segments.

        `segments` are (where, text) pairs, e.g. ("question", ...), ("step n3", ...)."""
        n = self.method.n
        if hit.exact:
            item = None
        else:
            item = self.entry_grams[hit.entry]
        best = (0, "", "")
        for where, text in segments:
            prepared = tok.prepare(text)
            t = tok.tokens(prepared)
            if not len(t.raw):
                continue
            if item is None:
                return {"where": where, "span": prepared[:max_chars]}
            masked = self.method.masked and self.entries[hit.entry].field not in UNMASKED_FIELDS
            h = rolling(t.masked if masked else t.raw, n)
            if self.bits < 48:
                h = h & np.uint64((1 << self.bits) - 1)
            if not len(h):
                continue
            matched = np.isin(h, item)
            if not matched.any():
                continue
            # longest run of consecutive matched n-gram starts
            run, best_run, end = 0, 0, 0
            for i, m in enumerate(matched.tolist()):
                run = run + 1 if m else 0
                if run > best_run:
                    best_run, end = run, i
            if best_run > best[0]:
                start_tok, end_tok = end - best_run + 1, end + n - 1
                raw_bytes = prepared.encode("utf-8")
                span = raw_bytes[t.start[start_tok] : t.end[end_tok]].decode("utf-8", "replace")
                if len(span) > max_chars:
                    span = span[: max_chars - 1] + "…"
                best = (best_run, where, span)
        return {"where": best[1], "span": best[2]}


@dataclass
class IndexedBenchmarks:
    """Entries of every selected benchmark, hashed for one method, plus where they came from."""

    method: Method
    items: list[EntryGrams]
    sources: dict[str, dict] = field(default_factory=dict)
    bits: int = 48
