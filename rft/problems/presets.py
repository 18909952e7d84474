"""Presets: the real formats of well-known benchmarks, and their Hugging Face Hub names (the other
Hub ids a preset reads come from the benchmark registry, `rft.benchmarks`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rft import benchmarks
from rft.errors import ConfigError
from rft.problems.rows import RowView
from rft.schemas import Domain
from rft.verify.answers import gsm8k_answer, last_boxed

Converted = dict[str, Any]  # keys: own_id, question, answer, solution, tests, entry_point, domain, metadata


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    hub_id: str
    hub_config: str | None
    hub_split: str
    columns: dict[str, Sequence[str]]  # Problem field -> source columns tried in order
    convert: Callable[[RowView], Converted]
    domain: Domain = Domain.math
    # the source the preset's name stands for (`--problems gsm8k`): a train split, never the test
    # data above; None when the benchmark has no train split (HumanEval)
    train_source: str | None = None

    @property
    def hub_aliases(self) -> tuple[str, ...]:
        """The other Hub ids of the benchmarks this preset reads (the registry's ids and aliases)."""
        own = self.hub_id.lower()
        ids = (h for s in benchmarks.REGISTRY.values() if s.preset == self.name for h in s.hub_ids)
        return tuple(dict.fromkeys(h for h in ids if h.lower() != own))

    @property
    def hub_source(self) -> str:
        config = f":{self.hub_config}" if self.hub_config else ""
        return f"hf:{self.hub_id}{config}@{self.hub_split}"


def generic(row: RowView) -> Converted:
    """No preset: columns named like the Problem fields (or mapped with --field)."""
    domain = (row.text("domain") or "").strip()
    if domain and domain not in Domain.__members__:
        known = ", ".join(Domain.__members__)
        raise row.fail(f"field {row.column_name('domain')!r}: unknown domain {domain!r} (known: {known})")
    return {
        "own_id": row.text("id"),
        "question": row.text("question", required=True),
        "answer": row.text("answer"),
        "solution": row.text("solution"),
        "tests": row.text_list("tests"),
        "entry_point": row.text("entry_point"),
        "domain": domain or Domain.math.value,
        "metadata": {},
    }


def _gsm8k(row: RowView) -> Converted:
    raw = row.text("answer", required=True)
    split = gsm8k_answer(raw)
    if split is None:
        raise row.fail(f"field {row.column_name('answer')!r} has no '#### <answer>' line (GSM8K format)")
    solution, answer = split
    return {
        "own_id": row.text("id"),
        "question": row.text("question", required=True),
        "answer": answer,
        "solution": solution,
        "domain": Domain.math.value,
        "metadata": {},
    }


def _math(row: RowView) -> Converted:
    solution = row.text("solution")
    answer = row.text("answer")
    if answer is None or not answer.strip():
        answer = last_boxed(solution)
    if not answer:
        raise row.fail(
            f"no answer: neither an {row.column_name('answer')!r} field nor a \\boxed{{}} "
            f"in {row.column_name('solution')!r}"
        )
    metadata = {}
    for key, columns in (
        ("subject", ("subject", "type")),
        ("level", ("level",)),
        ("unique_id", ("unique_id",)),
    ):
        for col in columns:
            if row.raw.data.get(col) is not None:
                metadata[key] = row.raw.data[col]
                break
    return {
        "own_id": row.text("id"),
        "question": row.text("question", required=True),
        "answer": answer.strip(),
        "solution": solution,
        "domain": Domain.math.value,
        "metadata": metadata,
    }


def _humaneval(row: RowView) -> Converted:
    return {
        "own_id": row.text("id"),
        "question": row.text("question", required=True),
        "answer": None,
        "solution": row.text("solution"),
        "tests": row.text_list("tests", required=True),
        "entry_point": row.text("entry_point", required=True),
        "domain": Domain.code.value,
        "metadata": {},
    }


_ASSERT_CALL = re.compile(
    r"assert\s*\(?\s*(?:not\s+)?(?:math\.isclose\s*\(\s*|set\s*\(\s*)?([A-Za-z_]\w*)\s*\("
)


def _mbpp(row: RowView) -> Converted:
    tests = row.text_list("tests", required=True)
    entry_point = row.text("entry_point")
    if entry_point is None and tests:
        m = _ASSERT_CALL.search(tests[0])
        entry_point = m.group(1) if m else None
    metadata: dict[str, Any] = {}
    setup = row.raw.data.get("test_setup_code")
    if setup:
        metadata["test_setup_code"] = setup
    challenge = row.raw.data.get("challenge_test_list")
    if challenge:
        metadata["challenge_test_list"] = list(challenge)
    return {
        "own_id": row.text("id"),
        "question": row.text("question", required=True),
        "answer": None,
        "solution": row.text("solution"),
        "tests": tests,
        "entry_point": entry_point,
        "domain": Domain.code.value,
        "metadata": metadata,
    }


_LETTERS = "ABCDEFGHIJ"


def _arc(row: RowView) -> Converted:
    """Both the Hub format (question, choices{text,label}, answerKey, id) and the reformatted
    llm-foundry format (query "Question: ...", choices list, gold index)."""
    question = row.text("question", required=True).strip()
    question = re.sub(r"^Question:\s*", "", question)
    choices = row.get("choices", required=True)
    if isinstance(choices, dict):
        texts, labels = list(choices.get("text") or []), list(choices.get("label") or [])
    elif isinstance(choices, list):
        texts, labels = [str(c) for c in choices], list(_LETTERS[: len(choices)])
    else:
        raise row.fail(f"field {row.column_name('choices')!r} must be a list or a {{text, label}} object")
    if not texts or len(texts) != len(labels):
        raise row.fail(f"field {row.column_name('choices')!r} has no usable choices")
    gold = row.get("answer", required=True)
    if isinstance(gold, int) and not isinstance(gold, bool) and str(gold) not in labels:
        if not 0 <= gold < len(labels):
            raise row.fail(f"gold index {gold} out of range for {len(labels)} choices")
        answer = labels[gold]
    else:
        answer = str(gold).strip()
        if answer not in labels:
            raise row.fail(f"gold answer {answer!r} is not one of the choice labels {', '.join(labels)}")
    lines = [question, ""] + [f"{label}. {text}" for label, text in zip(labels, texts, strict=True)]
    return {
        "own_id": row.text("id"),
        "question": "\n".join(lines),
        "answer": answer,
        "solution": None,
        "domain": Domain.text.value,
        "metadata": {"choices": texts, "labels": labels},
    }


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "gsm8k",
            "grade-school math; answer after '####', commas stripped; worked solution kept",
            "openai/gsm8k",
            "main",
            "test",
            {"question": ("question",), "answer": ("answer",), "id": ("id",)},
            _gsm8k,
            train_source="hf:openai/gsm8k:main@train",
        ),
        Preset(
            "math",
            "competition math; answer field, else last \\boxed{} of the solution",
            "HuggingFaceH4/MATH-500",
            None,
            "test",
            {
                "question": ("problem",),
                "solution": ("solution",),
                "answer": ("answer",),
                "id": ("unique_id", "idx", "id"),
            },
            _math,
            train_source="hf:DigitalLearningGmbH/MATH-lighteval@train",
        ),
        Preset(
            "humaneval",
            "Python functions; prompt, test program, entry point",
            "openai/openai_humaneval",
            None,
            "test",
            {
                "question": ("prompt",),
                "tests": ("test",),
                "entry_point": ("entry_point",),
                "solution": ("canonical_solution",),
                "id": ("task_id",),
            },
            _humaneval,
            domain=Domain.code,
        ),
        Preset(
            "mbpp",
            "Python tasks; text, test_list, reference code",
            "google-research-datasets/mbpp",
            None,
            "test",
            {
                "question": ("text", "prompt"),
                "tests": ("test_list",),
                "solution": ("code",),
                "id": ("task_id",),
            },
            _mbpp,
            train_source="hf:google-research-datasets/mbpp:full@train",
            domain=Domain.code,
        ),
        Preset(
            "arc",
            "ARC-Challenge multiple choice; lettered choices, gold letter",
            "allenai/ai2_arc",
            "ARC-Challenge",
            "test",
            {
                "question": ("question", "query"),
                "choices": ("choices",),
                "answer": ("answerKey", "gold"),
                "id": ("id",),
            },
            _arc,
            train_source="hf:allenai/ai2_arc:ARC-Challenge@train",
            domain=Domain.text,
        ),
    )
}


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ConfigError(f"--preset: unknown preset {name!r} (known: {known})") from None


def preset_for_hub_id(hub_id: str) -> str | None:
    """The preset of a known Hub dataset id (case-insensitive), or None."""
    wanted = hub_id.lower()
    for p in PRESETS.values():
        if wanted == p.hub_id.lower() or wanted in (a.lower() for a in p.hub_aliases):
            return p.name
    return None
