"""Text normalisation and n-gram hashing for decontamination.

`canonical` applies NFKC, lowercases and unifies LaTeX spellings; tokens (`rft.validate.tokens`
for the hashed hot path, `tokenize` for readable ones) drop all punctuation, so LaTeX delimiters
and `$` vanish too. Word n-grams are 48-bit polynomial rolling hashes of 64-bit token ids computed
with numpy: the same text gives the same hashes in every process and in the shipped fingerprints.
Masked mode replaces every number (digits or number words) by one placeholder, so "16 eggs" and
"23 eggs" share their n-grams.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

NORMALISATION = "nfkc-lower-latexunify-nopunct-bytetokens-v2"
NUM = "<num>"

_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion dozen".split()
)
# Only what changes the tokens: punctuation, `$`, `\\(`, `\\[` and spacing commands are dropped anyway.
_LATEX_SUBS = [
    (re.compile(r"\\[dt]frac"), r"\\frac"),
    (re.compile(r"\\(?:left|right|big|bigg)(?![a-z])"), " "),
]
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")  # 36,000 -> 36000
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+")
_MUL = np.uint64(1099511628211)  # FNV-64 prime, used as the rolling-hash base
_MASK48 = np.uint64((1 << 48) - 1)


def canonical(text: str) -> str:
    """NFKC + lowercase + LaTeX spellings unified (before tokenisation)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = text.lower()
    if "\\" in text:
        for pattern, repl in _LATEX_SUBS:
            text = pattern.sub(repl, text)
    return text


def tokenize(text: str) -> list[str]:
    """Words and numbers of the canonical text; punctuation dropped; thousands separators removed."""
    return [_number(t) if "," in t else t for t in _TOKEN.findall(canonical(text))]


def _number(token: str) -> str:
    return token.replace(",", "") if _THOUSANDS.fullmatch(token) else token


def is_number(token: str) -> bool:
    return token[0].isdigit() or token in _NUMBER_WORDS


def mask(tokens: list[str]) -> list[str]:
    return [NUM if is_number(t) else t for t in tokens]


def rolling(ids: np.ndarray, n: int) -> np.ndarray:
    """Hashes of every window of `n` consecutive ids (uint64, wrapping arithmetic, 48 bits kept)."""
    m = len(ids) - n + 1
    if m <= 0:
        return np.empty(0, dtype=np.uint64)
    h = ids[:m].copy()
    for i in range(1, n):
        h *= _MUL
        h += ids[i : i + m]
    return h & _MASK48
