"""A competent-but-fallible scripted teacher and judge for GSM8K-like problems (no network, no model).

Every problem is a chain of 3-4 integer operations built from the question's numbers; a step writes
one of them out (`40 + 8 = 48`), and the last step ends with `Final answer: N`. The teacher answers
each prompt from the package templates (step.j2, judge.j2, reflect.j2, sample.j2) by reading it: the
problem from its question, the steps so far from its `Step k: text` lines. Every choice is a seeded
hash of the problem, the steps so far and the candidate index, so a search is the same on every run.

Known mistakes, and how often they happen:
- wrong step (~30% of proposed step candidates), of three kinds, about a third each:
  - arithmetic slip: the operation is written out with a wrong result (`40 + 8 = 51`). The
    calculator check (rft/verify/arithmetic.py) catches every one before the judge sees it.
  - misread operand: the step uses a number the question does not give (`40 + 9 = 49` where Mia
    buys 8), with true arithmetic.
  - wrong operation: the step applies the wrong operation to the right numbers (`48 * 3 = 144` where
    the apples are shared, so it should divide), with true arithmetic.
  `mistake(text)` says which (and `is_wrong_step` whether any): a step is matched to its operation
  by what it counts ("apples for each friend"). Whatever the kind, the stated value stays an integer
  through the later operations and never equals the gold answer, nor does any value computed from it.
- carried error: once a wrong step is on a path, the next steps compute correctly *from it*
  (`51 / 3 = 17`): they are locally right (not `is_wrong_step`, the judge scores them well), but the
  final answer is wrong. The real mistake is the earlier step.
- echo (~5% of candidates): the teacher repeats the instructions
  (`You can finish your steps with "Final answer: <answer>".`) instead of writing a step.
- duplicate sibling (~12% of candidates after the first): the same text as the previous candidate.
- fooled judge (~25% of the wrong steps it judges): `Score: 8`, "The step is correct.".
  Otherwise it catches the step (`Score: 1` or `2`) with a critique naming the step's numbers and
  never the correct value ("It adds 9, but the question says 8, not 9."; "It multiplies by 3, but
  it should divide by 3 here."; "It computes 40 + 8 = 51, but 40 + 8 is not 51."). Correct and
  carried steps score 7-9 with a short positive critique; an echo scores 2.
- blind self-check (~10% of reflections): asked to find the first wrong step of a path whose final
  answer failed, the teacher answers "All steps look right to me." instead of naming it. Otherwise
  it names the first wrong step with its reason ("Step 1: the question says 8, not 9.";
  "Step 2: it multiplies by 3, but it should divide by 3."; "Step 1: 40 + 8 is not 51.").

Numbers are chosen so that the gold answer appears in no text but the final step of a correct path
(not in the question, not as an operand, not as an intermediate or wrong value, not in a critique
or a self-check), no critique or self-check names the value the step should have reached, and no
text holds a decimal or a division by 10: a render that contains one put it there itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace

from rft.generate.config import SearchConfig
from rft.generate.prompts import PromptSet
from rft.generate.search import Searcher, SearchResult
from rft.schemas import EventType, Outcome, Problem, Record, Verdict
from rft.teachers.base import Completion, UsageTotals
from rft.verify.grader import check_answer
from rft.verify.steps import JudgePrompt, make_validator

ECHO = 'You can finish your steps with "Final answer: <answer>".'
ALL_RIGHT = "All steps look right to me."
POSITIVE_CRITIQUES = (
    "The step is correct.",
    "The calculation is right and moves toward the answer.",
    "This step computes the right quantity correctly.",
)
ECHO_CRITIQUE = "The step only repeats the instructions and computes nothing."
FOOLED_CRITIQUE = POSITIVE_CRITIQUES[0]

WRONG_RATE = 0.30
ECHO_RATE = 0.05
DUPLICATE_RATE = 0.12
FOOLED_RATE = 0.25
BLIND_REFLECTION_RATE = 0.10

_SYMBOLS = {
    "+": lambda x, a: x + a,
    "-": lambda x, a: x - a,
    "*": lambda x, a: x * a,
    "/": lambda x, a: x / a,
}
CALC = re.compile(r"(\d+) ([-+*/]) (\d+) = (\d+)")
_STEP_LINE = re.compile(r"^Step (\d+): (.*)$", re.MULTILINE)
_PROPOSED = re.compile(r"^Proposed Step \d+: (.*?)\n\nIs the proposed step correct", re.MULTILINE | re.DOTALL)
_FINAL = re.compile(r"\s*Final answer:.*$", re.DOTALL)


SALT = "158"  # picked among 0-199: dfs, beam and best-first show rates near the nominal ones above


def roll(*parts: object) -> float:
    """A deterministic number in [0, 1) from any parts (and SALT)."""
    digest = hashlib.sha256("\x1f".join(map(str, (SALT, *parts))).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def mentions(text: str, number: int | str) -> bool:
    """Whether `text` holds `number` as a whole number (not as part of 16 or 1.6)."""
    return re.search(rf"(?<![\d.]){re.escape(str(number))}(?![\d]|\.\d)", text) is not None


@dataclass(frozen=True)
class Op:
    symbol: str
    operand: int
    what: str  # what the result counts, e.g. "apples for each friend"


@dataclass(frozen=True)
class WordProblem:
    id: str
    question: str
    start: int
    ops: tuple[Op, ...]

    @property
    def values(self) -> list[int]:
        """The correct chain: start, then the result of each operation."""
        out = [self.start]
        for op in self.ops:
            out.append(apply(op, out[-1]))
        return out

    @property
    def gold(self) -> int:
        return self.values[-1]

    def problem(self) -> Problem:
        return Problem(id=self.id, question=self.question, answer=str(self.gold))

    def step_text(
        self,
        k: int,
        x: int,
        result: int,
        phrasing: int,
        symbol: str | None = None,
        operand: int | None = None,
    ) -> str:
        """Step k (1-based) applied to the value `x`, stating `result` (right or wrong); `symbol` and
        `operand` default to the step's own (a wrong operation or a misread number replaces them)."""
        op = self.ops[k - 1]
        calc = f"{x} {symbol or op.symbol} {op.operand if operand is None else operand} = {result}"
        text = (
            f"{calc}, so there are {result} {op.what}.",
            f"Next, {calc} {op.what}.",
            f"{op.what[0].upper()}{op.what[1:]}: {calc}.",
        )[phrasing % 3]
        return f"{text} Final answer: {result}" if k == len(self.ops) else text

    def correct_texts(self) -> list[str]:
        """The correct path's step texts (phrasing 0)."""
        vals = self.values
        return [self.step_text(k, vals[k - 1], vals[k], 0) for k in range(1, len(self.ops) + 1)]

    def chain_from(self, k: int, value: int) -> list[int] | None:
        """Values computed correctly after step k stated `value`; None if one is not a positive integer."""
        out = [value]
        for op in self.ops[k:]:
            nxt = apply(op, out[-1])
            if nxt is None or nxt <= 0:
                return None
            out.append(nxt)
        return out

    def wrong_result(self, k: int, x: int, key: tuple) -> int:
        """A wrong result for step k on input `x` (an arithmetic slip) whose consequences stay
        integers and never meet gold."""
        m = self._slip(k, x, key) or self._slip(k, x, key, strict=False)
        if m is None:
            raise AssertionError(f"{self.id}: no wrong result for step {k} on {x}")
        return m.result

    def wrong_step(self, k: int, x: int, key: tuple, phrasing: int) -> tuple[str, Mistake]:
        """A wrong step k on input `x`: (its text, its mistake). The kind is rolled (a third each);
        where a misread or a wrong operation cannot be made (it would leave a fraction, or meet the
        gold answer), the other one is tried, then an arithmetic slip."""
        r = roll(*key, "kind")
        order = KINDS if r < 1 / 3 else ("misread", "wrong_op", "arithmetic")
        if r >= 2 / 3:
            order = ("wrong_op", "misread", "arithmetic")
        makers = {"arithmetic": self._slip, "misread": self._misread, "wrong_op": self._wrong_op}
        # on a carried value the step's own number may be the value it should reach (64 - 32 = 32):
        # naming that number is then allowed, as a last resort
        for strict in (True, False):
            for kind in order:
                m = makers[kind](k, x, key, strict)
                if m is not None:
                    return self.step_text(k, x, m.result, phrasing, m.symbol, m.operand), m
        raise AssertionError(f"{self.id}: no wrong step {k} on {x}")

    def _fits(self, m: Mistake, strict: bool = True) -> bool:
        """The wrong value stays a positive integer away from gold through the later steps, and no text
        about the step (the step, critiques, self-check) holds the gold or (`strict`) the value it
        should reach; not `strict`, that value may appear where it is one of the question's numbers."""
        right = apply(self.ops[m.k - 1], m.x)
        if m.result == right or m.result <= 0:
            return False
        chain = self.chain_from(m.k, m.result)
        if chain is None or self.gold in chain:
            return False
        texts = [self.step_text(m.k, m.x, m.result, j, m.symbol, m.operand) for j in range(3)]
        talk = [m.critique(j) for j in range(3)] + [m.self_check()]
        if any(_DIVIDED_BY_TEN.search(t) for t in texts + talk):
            return False
        if any(mentions(t, self.gold) for t in texts + talk):
            return False
        if not strict and right in (m.x, m.op.operand):
            return True
        return not any(mentions(t, right) for t in talk)

    def _slip(self, k: int, x: int, key: tuple, strict: bool = True) -> Mistake | None:
        right = apply(self.ops[k - 1], x)
        assert right is not None
        unit = 1
        for op in self.ops[k:]:
            if op.symbol == "/":
                unit *= op.operand
        deltas = [1, 2, -1, 3, -2, 10, 5]
        start = int(roll(*key, "delta") * len(deltas))
        op = self.ops[k - 1]
        for d in deltas[start:] + deltas[:start]:
            m = Mistake("arithmetic", k, x, op.symbol, op.operand, right + d * unit, op)
            if self._fits(m, strict):
                return m
        return None

    def _misread(self, k: int, x: int, key: tuple, strict: bool = True) -> Mistake | None:
        op = self.ops[k - 1]
        # a near number first (9 for 8), then further ones (17 for 12) where a near one leaves a fraction
        deltas = [1, -1, 2, -2, *(d * sign for d in range(3, 11) for sign in (1, -1))]
        start = int(roll(*key, "misread") * 4)
        for d in deltas[start:4] + deltas[:start] + deltas[4:]:
            seen = op.operand + d
            result = apply(Op(op.symbol, seen, op.what), x) if seen > 1 else None
            if result is not None:
                m = Mistake("misread", k, x, op.symbol, seen, result, op)
                if self._fits(m, strict):
                    return m
        return None

    def _wrong_op(self, k: int, x: int, key: tuple, strict: bool = True) -> Mistake | None:
        op = self.ops[k - 1]
        others = _WRONG_OPS[op.symbol]
        start = int(roll(*key, "wrong_op") * 2)
        for sym in others[start:2] + others[:start] + others[2:]:
            result = apply(Op(sym, op.operand, op.what), x)
            if result is not None:
                m = Mistake("wrong_op", k, x, sym, op.operand, result, op)
                if self._fits(m, strict):
                    return m
        return None


KINDS = ("arithmetic", "misread", "wrong_op")
# the operations a step's own is mistaken for, the likelier two first
_WRONG_OPS = {"+": ("-", "*", "/"), "-": ("+", "/", "*"), "*": ("+", "/", "-"), "/": ("*", "-", "+")}
_VERB = {"+": "adds", "-": "subtracts", "*": "multiplies by", "/": "divides by"}
_INFINITIVE = {"+": "add", "-": "subtract", "*": "multiply by", "/": "divide by"}
_GERUND = {"+": "adding", "-": "subtracting", "*": "multiplying by", "/": "dividing by"}
_DIVIDED_BY_TEN = re.compile(r"\d\s*/\s*10\b|out of 10\b")


@dataclass(frozen=True)
class Mistake:
    """What is wrong in a step: `kind` is arithmetic (a false result), misread (an operand the
    question does not give) or wrong_op (the wrong operation). `symbol`, `operand` and `result` are
    as written in the step; `op` is the step's right operation."""

    kind: str
    k: int
    x: int
    symbol: str
    operand: int
    result: int
    op: Op

    @property
    def calc(self) -> str:
        return f"{self.x} {self.symbol} {self.operand}"

    def critique(self, phrase: int) -> str:
        """The judge's critique when it catches the step: names the step's numbers, never the value
        it should have reached."""
        if self.kind == "arithmetic":
            calc, w = self.calc, self.result
            options = (
                f"It computes {calc} = {w}, but {calc} is not {w}.",
                f"The arithmetic is wrong: {calc} is not {w}.",
                f"This step claims {calc} = {w}, which is a mistake.",
            )
        elif self.kind == "misread":
            seen, given = self.operand, self.op.operand
            options = (
                f"It {_VERB[self.symbol]} {seen}, but the question says {given}, not {seen}.",
                f"The question gives {given}, not {seen}: the step misreads it.",
                f"It uses {seen} where the question says {given}, which is a misread number.",
            )
        else:
            b, wrong, right = self.operand, self.symbol, self.op.symbol
            options = (
                f"It {_VERB[wrong]} {b}, but it should {_INFINITIVE[right]} {b} here.",
                f"{self.calc} is the wrong operation: the {self.op.what} come from {_GERUND[right]} {b}.",
                f"The step {_VERB[wrong]} {b} instead of {_GERUND[right]} {b}.",
            )
        return options[phrase % 3]

    def self_check(self) -> str:
        """The teacher's self-check naming this step (as its first wrong one)."""
        if self.kind == "arithmetic":
            return f"Step {self.k}: {self.calc} is not {self.result}."
        if self.kind == "misread":
            return f"Step {self.k}: the question says {self.op.operand}, not {self.operand}."
        b = self.operand
        return f"Step {self.k}: it {_VERB[self.symbol]} {b}, but it should {_INFINITIVE[self.op.symbol]} {b}."


def apply(op: Op, x: int) -> int | None:
    value = _SYMBOLS[op.symbol](x, op.operand)
    return int(value) if value == int(value) else None


_PROBLEMS = (
    WordProblem(
        "mia-apples",
        "Mia has 40 apples and buys 8 more. She shares them equally among 3 friends, and each friend "
        "eats 2 of their apples. How many apples does each friend have left?",
        40,
        (
            Op("+", 8, "apples in total"),
            Op("/", 3, "apples for each friend"),
            Op("-", 2, "apples left for each friend"),
        ),
    ),
    WordProblem(
        "tom-books",
        "Tom has 7 boxes with 12 books in each. He gives away 19 books and puts the rest on 5 shelves, "
        "the same number on each. How many books are on each shelf?",
        7,
        (Op("*", 12, "books in the boxes"), Op("-", 19, "books left"), Op("/", 5, "books on each shelf")),
    ),
    WordProblem(
        "bakery-bags",
        "A bakery bakes 45 muffins in the morning and 27 in the afternoon. It sells 32 of them and packs "
        "the rest into bags of 4, then adds 6 bags left from yesterday. How many bags does it have?",
        45,
        (
            Op("+", 27, "muffins baked"),
            Op("-", 32, "muffins left"),
            Op("/", 4, "bags packed today"),
            Op("+", 6, "bags in all"),
        ),
    ),
    WordProblem(
        "lena-jars",
        "Lena saves 15 dollars a week for 6 weeks. She spends 23 dollars on a gift, earns 14 dollars more, "
        "and splits her money equally into 3 jars. How many dollars go into each jar?",
        15,
        (
            Op("*", 6, "dollars saved"),
            Op("-", 23, "dollars after the gift"),
            Op("+", 14, "dollars in all"),
            Op("/", 3, "dollars in each jar"),
        ),
    ),
    WordProblem(
        "train-seats",
        "A train has 9 cars with 24 seats each. 50 seats are taken, and then 31 more passengers board, "
        "each taking a seat. How many seats are still free?",
        9,
        (Op("*", 24, "seats on the train"), Op("-", 50, "free seats"), Op("-", 31, "seats still free")),
    ),
    WordProblem(
        "omar-tulips",
        "Omar plants 8 rows of 13 tulips. Rabbits eat 20 of the tulips, and he ties the remaining ones "
        "into bunches of 7. How many bunches does he make?",
        8,
        (Op("*", 13, "tulips planted"), Op("-", 20, "tulips left"), Op("/", 7, "bunches")),
    ),
    WordProblem(
        "teacher-pencils",
        "A teacher buys 6 packs of 25 pencils and 3 loose pencils. She hands out 41 pencils and puts "
        "the rest into 4 cups, the same number in each. How many pencils go into each cup?",
        6,
        (
            Op("*", 25, "pencils in the packs"),
            Op("+", 3, "pencils in all"),
            Op("-", 41, "pencils left"),
            Op("/", 4, "pencils in each cup"),
        ),
    ),
    WordProblem(
        "ava-cookies",
        "Ava bakes 4 trays of 18 cookies. She eats 5 of them, gives 19 to her neighbours, and shares "
        "the rest equally between 2 classes. How many cookies does each class get?",
        4,
        (
            Op("*", 18, "cookies baked"),
            Op("-", 5, "cookies after she eats some"),
            Op("-", 19, "cookies left to share"),
            Op("/", 2, "cookies for each class"),
        ),
    ),
)
_BY_QUESTION = {p.question: p for p in _PROBLEMS}
_BY_ID = {p.id: p for p in _PROBLEMS}


def word_problems() -> tuple[WordProblem, ...]:
    return _PROBLEMS


def problems() -> list[Problem]:
    return [p.problem() for p in _PROBLEMS]


def word_problem(problem: Problem | str) -> WordProblem:
    return _BY_ID[problem if isinstance(problem, str) else problem.id]


_BY_WHAT = sorted(
    ((op.what.lower(), wp, k) for wp in _PROBLEMS for k, op in enumerate(wp.ops, 1)),
    key=lambda t: -len(t[0]),
)
assert len({w for w, _, _ in _BY_WHAT}) == len(_BY_WHAT), "what a step counts names its operation"


def mistake(text: str) -> Mistake | None:
    """What is wrong in a step's text (None for a right or carried step, an echo, a restatement).
    The step is matched to its operation by what it counts; a step that counts nothing known is
    only checked for false arithmetic."""
    found = CALC.findall(text or "")
    if not found:
        return None
    a, sym, b, r = found[0]
    x, b, r = int(a), int(b), int(r)
    lowered = (text or "").lower()
    match = next(((wp, k) for what, wp, k in _BY_WHAT if what in lowered), None)
    op = match[0].ops[match[1] - 1] if match else Op(sym, b, "")
    k = match[1] if match else 0
    if _SYMBOLS[sym](x, b) != r:
        return Mistake("arithmetic", k, x, sym, b, r, op)
    if sym != op.symbol:
        return Mistake("wrong_op", k, x, sym, b, r, op)
    if b != op.operand:
        return Mistake("misread", k, x, sym, b, r, op)
    return None


def is_wrong_step(text: str) -> bool:
    """The step itself is wrong: a false result, a misread number, or the wrong operation."""
    return mistake(text) is not None


def wrong_calc(text: str) -> tuple[str, int] | None:
    """("40 + 8", 51) for the first false operation in `text` (an arithmetic slip)."""
    for a, sym, b, r in CALC.findall(text or ""):
        if _SYMBOLS[sym](int(a), int(b)) != int(r):
            return f"{a} {sym} {b}", int(r)
    return None


def stated_value(text: str) -> int | None:
    """The result the step states (its last written-out operation)."""
    found = CALC.findall(text or "")
    return int(found[-1][3]) if found else None


def strip_final(text: str) -> str:
    """A step's text without its `Final answer: ...` tail."""
    return _FINAL.sub("", text).strip()


class FallibleTeacher:
    """Teacher and judge in one: answers step, sample, reflect and judge prompts (see the module doc).
    Make one instance per role so `stats` counts what that role did."""

    def __init__(self, spec: str = "fallible:teacher") -> None:
        self.spec = spec
        self.usage = UsageTotals()
        self.stats: Counter[str] = Counter()

    async def chat(self, messages, n=1, temperature=0.7, max_tokens=256, stop=None, seed=None):
        user = messages[-1]["content"]
        wp = next((p for q, p in _BY_QUESTION.items() if q in user), None)
        if wp is None:
            raise AssertionError(f"FallibleTeacher: prompt names no known problem: {user[:80]!r}")
        if "Proposed Step" in user:
            texts = [self._judge(wp, user)] * n
        elif "name the first wrong step" in user:
            texts = [self._reflect(wp, user)] * n
        elif "Write only Step" in user:
            steps = [t for _, t in _STEP_LINE.findall(user.split("Write only Step")[0])]
            texts = self._candidates(wp, steps, n)
        else:
            texts = [self._sample(wp, j) for j in range(n)]
        out = [
            Completion(
                text=t,
                finish_reason="stop",
                prompt_tokens=len(user) // 4,
                completion_tokens=len(t) // 4,
                model=self.spec,
                cost_usd=0.0,
            )
            for t in texts
        ]
        for c in out:
            self.usage.add(c)
        return out

    async def aclose(self) -> None:
        return None

    # --- the teacher ---
    def _candidates(self, wp: WordProblem, steps: list[str], n: int) -> list[str]:
        done = [s for s in steps if stated_value(s) is not None]
        k = len(done) + 1
        x = stated_value(done[-1]) if done else wp.start
        texts: list[str] = []
        for i in range(n):
            key = (wp.id, *steps, i)
            self.stats["candidates"] += 1
            if k > len(wp.ops):  # nothing left to compute: restate the value reached
                text = f"So the answer is {x}. Final answer: {x}"
            elif roll(*key, "echo") < ECHO_RATE:
                self.stats["echo"] += 1
                text = ECHO
            elif texts and roll(*key, "duplicate") < DUPLICATE_RATE:
                self.stats["duplicate"] += 1
                text = texts[-1]
            elif roll(*key, "wrong") < WRONG_RATE:
                text, m = wp.wrong_step(k, x, key, i)
                self.stats["wrong"] += 1
                self.stats[f"wrong_{m.kind}"] += 1
            else:
                self.stats["carried" if any(is_wrong_step(s) for s in steps) else "correct"] += 1
                text = wp.step_text(k, x, apply(wp.ops[k - 1], x), i)
            texts.append(text)
        return [f"Step {len(steps) + 1}: {t}" for t in texts]

    def _sample(self, wp: WordProblem, j: int) -> str:
        lines, x = [], wp.start
        for k in range(1, len(wp.ops) + 1):
            key = (wp.id, "sample", j, k)
            if roll(*key, "wrong") < WRONG_RATE:
                text, m = wp.wrong_step(k, x, key, j)
                x = m.result
            else:
                text, x = wp.step_text(k, x, apply(wp.ops[k - 1], x), j), apply(wp.ops[k - 1], x)
            lines.append(f"Step {k}: {text}")
        self.stats["samples"] += 1
        return "\n".join(lines)

    def _reflect(self, wp: WordProblem, user: str) -> str:
        steps = [t for _, t in _STEP_LINE.findall(user)]
        self.stats["reflections"] += 1
        if roll(wp.id, *steps, "blind") < BLIND_REFLECTION_RATE:
            self.stats["reflection_blind"] += 1
            return ALL_RIGHT
        for k, s in enumerate(steps, 1):
            m = mistake(s)
            if m is not None:
                self.stats["reflection_found"] += 1
                self.stats[f"reflection_found_{m.kind}"] += 1
                return replace(m, k=k).self_check()
        self.stats["reflection_nothing_wrong"] += 1
        return ALL_RIGHT

    # --- the judge ---
    def _judge(self, wp: WordProblem, user: str) -> str:
        m = _PROPOSED.search(user)
        if m is None:
            raise AssertionError(f"FallibleTeacher: judge prompt without a proposed step: {user[-200:]!r}")
        cand = m.group(1).strip()
        steps = [t for _, t in _STEP_LINE.findall(user[: m.start()])]
        key = (wp.id, *steps, cand)
        self.stats["judged"] += 1
        if ECHO in cand or stated_value(cand) is None:
            self.stats["judged_echo"] += 1
            return f"Score: 2\nCritique: {ECHO_CRITIQUE}"
        m = mistake(cand)
        if m is not None:
            self.stats[f"judged_{m.kind}"] += 1
            if roll(*key, "fooled") < FOOLED_RATE:
                self.stats["fooled"] += 1
                self.stats[f"fooled_{m.kind}"] += 1
                return f"Score: 8\nCritique: {FOOLED_CRITIQUE}"
            self.stats["caught"] += 1
            self.stats[f"caught_{m.kind}"] += 1
            critique = m.critique(int(roll(*key, "phrase") * 3))
            return f"Score: {1 + int(roll(*key, 'score') * 2)}\nCritique: {critique}"
        self.stats["judged_right"] += 1
        score = 7 + int(roll(*key, "score") * 3)
        return f"Score: {score}\nCritique: {POSITIVE_CRITIQUES[int(roll(*key, 'phrase') * 3)]}"


@dataclass
class Run:
    result: SearchResult
    teacher: FallibleTeacher
    judge: FallibleTeacher


def search(
    problem: Problem, strategy: str, validator: str = "composite", reflect: str | None = "teacher", **params
) -> Run:
    """Run one search with a fresh teacher and judge. `reflect=None` leaves SearchConfig' default (for
    a search that has no `reflect` setting)."""
    teacher, judge = FallibleTeacher("fallible:teacher"), FallibleTeacher("fallible:judge")
    prompts = PromptSet.load()
    if reflect is not None:
        params["reflect"] = reflect
    searcher = Searcher(
        teacher,
        make_validator(validator, judge, JudgePrompt.load()),
        prompts,
        SearchConfig(strategy=strategy, **params),
    )
    return Run(asyncio.run(searcher.run(problem)), teacher, judge)


def run_search(
    problem: Problem, strategy: str, validator: str = "composite", reflect: str | None = "teacher", **params
) -> SearchResult:
    return search(problem, strategy, validator, reflect, **params).result


def has_reflect_setting() -> bool:
    return "reflect" in SearchConfig.model_fields


def gold_verdict(problem: Problem, answer: str | None) -> Verdict:
    return check_answer(answer, problem.answer, problem.domain.value)


def record_for(problem: Problem, res: SearchResult) -> Record:
    """A dataset row as the runner builds one; `correct` is the gold check of the answer reached
    (False when nothing was reached), whatever validator ranked the steps."""
    solved = res.solution is not None
    return Record(
        problem=problem,
        trace=res.trace,
        outcome=Outcome(
            solved=solved,
            final_answer=res.final_answer,
            correct=solved and gold_verdict(problem, res.final_answer) == Verdict.correct,
            nodes=len(res.trace.nodes),
            backtracks=res.backtracks,
            pruned=sum(1 for _ in res.trace.iter_events(EventType.prune)),
            stop_reason=res.stop_reason,
        ),
    )
