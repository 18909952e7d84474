"""`ProblemSet`: the problems of a run held compactly, so memory stays small however many there are.

Each problem is kept as its JSON (`Problem.model_dump_json()`), compressed on its own with zlib
against a shared dictionary (the first problem's JSON: problems of one source share their keys,
their `source` and much of their wording), all packed into one buffer with an offsets array; the
ids are packed the same way, uncompressed. A `Problem` is made only when one is asked for (while it
is being worked on) and is not kept. About 25 bytes a problem for short questions (a loaded
`Problem` costs ~3 KB), a few µs to get one back.

Items are compressed one by one, so a subset (a shuffle, a shard, a limit) copies their bytes in
the new order without compressing anything again."""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TypeVar, overload

from rft.schemas import Problem

T = TypeVar("T")

_LEVEL = 6
_WBITS = -15  # raw deflate, 32 KB window (the dictionary is at most that)
_ZDICT_MAX = 32 * 1024


class _Packed:
    """Byte strings appended one after the other: one buffer and the offset of each end."""

    __slots__ = ("data", "ends")

    def __init__(self) -> None:
        self.data = bytearray()
        self.ends = array("Q")

    def append(self, item: bytes) -> None:
        self.data += item
        self.ends.append(len(self.data))

    def __len__(self) -> int:
        return len(self.ends)

    def __getitem__(self, i: int) -> bytearray:
        start = self.ends[i - 1] if i else 0
        return self.data[start : self.ends[i]]

    def trim(self) -> None:
        """Drop the spare room a growing bytearray keeps (up to an eighth of its size)."""
        self.data = bytearray(self.data)


class _LazySequence(Sequence[T]):
    """A read-only sequence whose items are made when asked for (`_at`); a slice gives a list."""

    def _at(self, i: int) -> T:
        raise NotImplementedError

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self._at(j) for j in range(len(self))[i]]
        return self._at(_index(i, len(self)))


class ProblemIds(_LazySequence[str]):
    """The ids of a ProblemSet, in order (each made as it is read)."""

    def __init__(self, packed: _Packed) -> None:
        self._packed = packed

    def __len__(self) -> int:
        return len(self._packed)

    def _at(self, i: int) -> str:
        return self._packed[i].decode()

    def __iter__(self) -> Iterator[str]:
        data, start = self._packed.data, 0
        for end in self._packed.ends:
            yield data[start:end].decode()
            start = end


class IdPositions(Mapping[str, int]):
    """Problem id -> its position, as an open-addressing table of positions over the packed ids
    (4 bytes a slot, at least two slots a problem): no str or int object kept per problem, where a
    dict of 50,000 ids costs ~6 MB. A repeated id maps to its last position, as in a dict."""

    def __init__(self, ids: ProblemIds) -> None:
        self._ids = ids
        self._mask = (1 << max(3, (2 * len(ids)).bit_length())) - 1
        self._slots = slots = array("i", [-1]) * (self._mask + 1)
        self._len = 0
        for i, pid in enumerate(ids):
            h = self._find(pid)
            self._len += slots[h] == -1
            slots[h] = i

    def _find(self, pid: object) -> int:
        """The slot holding `pid`, else the empty slot where it would go."""
        slots, mask = self._slots, self._mask
        data, ends = self._ids._packed.data, self._ids._packed.ends
        key = pid.encode() if isinstance(pid, str) else None
        n = -1 if key is None else len(key)
        h = hash(pid) & mask
        while (j := slots[h]) != -1:
            start, end = ends[j - 1] if j else 0, ends[j]
            if end - start == n and data[start:end] == key:
                break
            h = (h + 1) & mask
        return h

    def __getitem__(self, pid: str) -> int:
        j = self._slots[self._find(pid)]
        if j == -1:
            raise KeyError(pid)
        return j

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[str]:
        for i, pid in enumerate(self._ids):
            if self[pid] == i:
                yield pid


class ProblemQuestions(_LazySequence[str]):
    """The questions of a ProblemSet, read one at a time (for a check that samples a few)."""

    def __init__(self, problems: ProblemSet) -> None:
        self._problems = problems

    def __len__(self) -> int:
        return len(self._problems)

    def _at(self, i: int) -> str:
        return self._problems[i].question


class ProblemSet(Sequence[Problem]):
    """Problems in order, held as compressed JSON; `problems[i]` and iteration make each `Problem`
    anew (changing one changes no other, nor the set)."""

    def __init__(self) -> None:
        self._items = _Packed()
        self._ids = _Packed()
        self._gold = bytearray()  # 1 where the problem has a gold answer
        self._tests = bytearray()  # 1 where the problem is a code problem with tests
        self._zdict: bytes | None = None

    @classmethod
    def of(cls, problems: Iterable[Problem]) -> ProblemSet:
        out = cls()
        for p in problems:
            out.append(p)
        out.trim()
        return out

    # -- building -----------------------------------------------------------------------------------
    def append(self, problem: Problem) -> None:
        line = problem.model_dump_json().encode()
        if self._zdict is None:
            self._zdict = line[-_ZDICT_MAX:]
        c = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, zdict=self._zdict)
        self._items.append(c.compress(line) + c.flush())
        self._ids.append(problem.id.encode())
        self._gold.append(bool(problem.answer))
        self._tests.append(problem.domain.value == "code" and bool(problem.tests))

    def trim(self) -> None:
        self._items.trim()
        self._ids.trim()

    def subset(self, indices: Iterable[int]) -> ProblemSet:
        """The problems at `indices`, in that order (their compressed bytes copied, not redone)."""
        out = ProblemSet()
        out._zdict = self._zdict
        for i in indices:
            out._items.append(self._items[i])
            out._ids.append(self._ids[i])
            out._gold.append(self._gold[i])
            out._tests.append(self._tests[i])
        out.trim()
        return out

    # -- reading ------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._items)

    @property
    def has_gold(self) -> bool:
        """Some problem has a gold answer."""
        return 1 in self._gold

    @property
    def all_code_with_tests(self) -> bool:
        """Every problem is a code problem with tests (the `code-tests` validator's problems)."""
        return 0 not in self._tests

    def first_without_tests(self) -> str | None:
        """The id of the first problem that is not a code problem with tests, or None."""
        i = self._tests.find(0)
        return None if i < 0 else self.ids[i]

    def json(self, i: int) -> bytes:
        """Problem `i` as the JSON it was stored as (`Problem.model_dump_json()`)."""
        d = zlib.decompressobj(_WBITS, zdict=self._zdict or b"")
        return d.decompress(self._items[_index(i, len(self))]) + d.flush()

    @overload
    def __getitem__(self, i: int) -> Problem: ...
    @overload
    def __getitem__(self, i: slice) -> ProblemSet: ...
    def __getitem__(self, i: int | slice) -> Problem | ProblemSet:
        if isinstance(i, slice):
            return self.subset(range(len(self))[i])
        return Problem.model_validate_json(self.json(i))

    def __iter__(self) -> Iterator[Problem]:
        for i in range(len(self)):
            yield self[i]

    def json_lines(self) -> Iterator[bytes]:
        for i in range(len(self)):
            yield self.json(i)

    @property
    def ids(self) -> ProblemIds:
        return ProblemIds(self._ids)

    @property
    def questions(self) -> ProblemQuestions:
        return ProblemQuestions(self)

    def positions(self) -> IdPositions:
        """Problem id -> its position (a repeated id: its last)."""
        return IdPositions(self.ids)

    def __repr__(self) -> str:
        return f"ProblemSet({len(self)} problems, {len(self._items.data) + len(self._ids.data)} bytes)"


def _index(i: int, n: int) -> int:
    if i < 0:
        i += n
    if not 0 <= i < n:
        raise IndexError("ProblemSet index out of range")
    return i
