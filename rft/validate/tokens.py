"""Vectorised tokenisation and token hashing (numpy over UTF-8 bytes), the hot path of decontamination.

A token is a maximal run of letters (a-z and any non-ASCII byte) or of digits, where `.` and `,`
between two digits belong to the number; a thousands separator (a `,` followed by exactly three
digits) is dropped, so 36,000 and 36000 are the same token. Everything else separates tokens. Each token's id is a 64-bit hash of its bytes,
computed for all tokens of a batch at once with prefix sums, so no Python loop runs per token.
Masked ids replace numbers (digit runs and number words) by one placeholder id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rft.validate.normalize import _NUMBER_WORDS, NUM, canonical

_CLASS = np.zeros(256, dtype=np.int8)  # 0 separator, 1 letter, 2 digit
_CLASS[ord("a") : ord("z") + 1] = 1
_CLASS[ord("A") : ord("Z") + 1] = 1
_CLASS[128:] = 1
_CLASS[ord("0") : ord("9") + 1] = 2
_DOT, _COMMA = ord("."), ord(",")
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
# Non-ASCII punctuation that would otherwise glue words together (non-ASCII bytes count as letters).
_UNI_PUNCT = {
    ord(c): " "
    for c in "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u2013\u2014\u2015\u2026\u00b7\u2022\u00a0\u2212\u00d7\u00f7"
}


def prepare(text: str) -> str:
    """`canonical` plus non-ASCII punctuation turned into spaces."""
    text = canonical(text)
    return text if text.isascii() else text.translate(_UNI_PUNCT)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: decorrelates the byte-polynomial hash from the n-gram polynomial."""
    z = z ^ (z >> np.uint64(30))
    z = z * _M1
    z = z ^ (z >> np.uint64(27))
    z = z * _M2
    return z ^ (z >> np.uint64(31))


@dataclass
class Tokens:
    raw: np.ndarray  # uint64 id per token
    masked: np.ndarray  # uint64 id per token, numbers -> NUM_ID
    start: np.ndarray  # byte offset of each token in the UTF-8 text
    end: np.ndarray  # byte offset just past each token


def tokens(text: str) -> Tokens:
    """Token ids and byte spans of an already `prepare`d text (segments may be joined by NUL)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    n = len(data)
    if n == 0:
        e = np.empty(0, np.uint64)
        i = np.empty(0, np.int64)
        return Tokens(e, e, i, i)
    cls = _CLASS[data]
    # thousands separators (a comma between a digit and exactly three digits) are dropped
    digit = cls == 2
    pad = np.concatenate([digit, np.zeros(4, dtype=bool)])
    thousands = (data == _COMMA) & np.concatenate([[False], digit[:-1]]) & pad[1 : n + 1] & pad[2 : n + 2]
    thousands &= pad[3 : n + 3] & ~pad[4 : n + 4]
    if thousands.any():
        pos = np.nonzero(~thousands)[0]  # offsets of the kept bytes in `text`
        data, cls = data[pos], cls[pos]
        n = len(data)
    else:
        pos = None
    # `.` and `,` between two digits belong to the number
    if n >= 3:
        sep = (data[1:-1] == _DOT) | (data[1:-1] == _COMMA)
        inner = sep & (cls[:-2] == 2) & (cls[2:] == 2)
        cls[1:-1][inner] = 2
    boundary = np.empty(n + 1, dtype=bool)
    boundary[0] = True
    boundary[n] = True
    boundary[1:n] = cls[1:] != cls[:-1]
    run_starts = np.nonzero(boundary[:n])[0]
    run_ends = np.append(run_starts[1:], n)
    keep = cls[run_starts] != 0
    start, end = run_starts[keep], run_ends[keep]
    raw = _token_hashes(data, start, end)
    is_num = cls[start] == 2
    masked = np.where(is_num | np.isin(raw, NUMBER_WORD_IDS), NUM_ID, raw)
    if pos is not None:  # spans in the original text
        start, end = pos[start], pos[end - 1] + 1
    return Tokens(raw, masked, start.astype(np.int64), end.astype(np.int64))


def _token_hashes(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """64-bit id of each token's bytes: 8 bytes at a time packed into a word, words chained by mixing."""
    length = end - start
    h = _mix(length.astype(np.uint64) * _M1)
    padded = np.concatenate([data, np.zeros(8, dtype=np.uint8)])
    cols = np.arange(8)
    todo = np.arange(len(start))
    offset = 0
    while len(todo):
        s, ln = start[todo] + offset, length[todo] - offset
        chunk = padded[s[:, None] + cols]  # (tokens, 8) bytes
        chunk[cols[None, :] >= ln[:, None]] = 0
        word = np.ascontiguousarray(chunk).view("<u8").ravel()
        h[todo] = _mix(h[todo] ^ word)
        offset += 8
        todo = todo[length[todo] > offset]
    return h


def token_id(token: str) -> np.uint64:
    """The id `tokens` gives a token that is exactly `token` (lowercase, no separators)."""
    data = np.frombuffer(token.encode("utf-8"), dtype=np.uint8)
    return _token_hashes(data, np.array([0]), np.array([len(data)]))[0]


NUM_ID = token_id(NUM.strip("<>") + "\x01")  # cannot collide with a real token (contains \x01)
NUMBER_WORD_IDS = np.sort(np.array([token_id(w) for w in _NUMBER_WORDS], dtype=np.uint64))


@dataclass
class Batch:
    raw: np.ndarray
    masked: np.ndarray
    seg: np.ndarray  # segment index of each token


def batch(texts: list[str]) -> Batch:
    """Tokens of many texts at once; `seg` says which text each token came from."""
    joined = "\x00".join(prepare(t) for t in texts)
    toks = tokens(joined)
    if not len(toks.start):
        return Batch(toks.raw, toks.masked, np.empty(0, np.int64))
    data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    nul = np.nonzero(data == 0)[0]
    seg = np.searchsorted(nul, toks.start)
    return Batch(toks.raw, toks.masked, seg.astype(np.int64))
