"""`ProblemSet` (problems held as compressed JSON) and `load_problem_set`: the same problems as
`load_problems`, in the same order, in a small fraction of the memory."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from pathlib import Path

import pytest

from rft.errors import InputError
from rft.generate.problemset import problems_fingerprint
from rft.problems import ProblemSet, load_problem_set, load_problems
from rft.schemas import Problem, ProblemSource


def _dump(problems) -> list[dict]:
    return [p.model_dump(mode="json") for p in problems]


def _rows(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize(
    ("rel", "preset"),
    [
        ("gsm8k/train.jsonl", "gsm8k"),
        ("math/test.jsonl", "math"),
        ("humaneval/HumanEval.jsonl.gz", "humaneval"),
        ("mbpp/test_11_510.jsonl", "mbpp"),
        ("arc_challenge/arc_challenge.jsonl", "arc"),
    ],
)
def test_same_problems_as_load_problems_on_the_real_files(bench_dir, rel, preset):
    src = str(bench_dir / rel)
    full = load_problems(src, preset=preset)
    ps = load_problem_set(src, preset=preset)
    assert len(ps) == len(full)
    assert _dump(ps) == _dump(full)
    assert list(ps.ids) == [p.id for p in full]
    assert ps.has_gold == any(p.answer for p in full)
    # the JSON kept is the problem's own: the fingerprint of problems given directly is unchanged
    assert list(ps.json_lines()) == [p.model_dump_json().encode() for p in full]
    assert problems_fingerprint(ps) == problems_fingerprint(full)
    for kw in (
        dict(shuffle=True, seed=3),
        dict(shard=(1, 4)),
        dict(shuffle=True, seed=5, shard=(2, 3), limit=10),
        dict(limit=7),
        dict(limit=0),
    ):
        assert _dump(load_problem_set(src, preset=preset, **kw)) == _dump(
            load_problems(src, preset=preset, **kw)
        )


def test_same_problems_from_the_demo_and_with_duplicate_ids(tmp_path):
    assert _dump(load_problem_set("demo:30:2")) == _dump(load_problems("demo:30:2"))
    rows = [
        {"id": "a", "question": "What is 1+1?", "answer": "2"},
        {"id": "b", "question": "What is 2+2?", "answer": "4"},
        {"id": "a", "question": "What is 3+3?", "answer": "6"},
        {"id": "a", "question": "What is 1+1?", "answer": "2"},  # repeats row 1 exactly
        {"id": "a-2", "question": "What is 5+5?"},
    ]
    path = str(_rows(tmp_path / "d.jsonl", rows))
    for policy in ("skip", "rename"):
        said_set, said_list = [], []
        ps = load_problem_set(path, on_duplicate_id=policy, warn=said_set.append)
        full = load_problems(path, on_duplicate_id=policy, warn=said_list.append)
        assert _dump(ps) == _dump(full) and said_set == said_list and said_set
    assert list(load_problem_set(path, on_duplicate_id="rename").ids) == ["a", "b", "a-3", "a-4", "a-2"]
    with pytest.raises(InputError, match="problem id 'a' is used by 2 different rows"):
        load_problem_set(path, on_duplicate_id="error")


def test_the_error_is_the_one_a_full_read_finds_first(tmp_path):
    """A bad field on line 2 and a malformed line 4: reading every row first stops at line 4."""
    path = tmp_path / "bad.jsonl"
    path.write_text('{"question": "q1"}\n{"question": ""}\n{"question": "q3"}\n{not json\n')
    with pytest.raises(InputError) as from_list:
        load_problems(str(path))
    with pytest.raises(InputError) as from_set:
        load_problem_set(str(path))
    assert str(from_set.value) == str(from_list.value) and f"{path}:4: malformed JSON" in str(from_set.value)
    path.write_text('{"question": "q1"}\n{"question": "  "}\n')
    with pytest.raises(InputError, match=f"{path}:2: empty question") as from_set:
        load_problem_set(str(path))


def test_a_problem_set_gives_back_what_was_put_in():
    problems = [
        Problem(
            id=f"p{i}",
            question=f"What is {i} + 1?",
            answer=str(i + 1) if i % 2 else None,
            tests=["assert f() == 1"] if i == 3 else [],
            metadata={"i": i, "nested": {"x": [1, 2.5, None]}, "text": "é ✓"},
            source=ProblemSource(kind="file", name="x.jsonl", row=i),
        )
        for i in range(200)
    ]
    ps = ProblemSet.of(problems)
    assert len(ps) == 200 and list(ps) == problems
    assert ps[0] == problems[0] and ps[-1] == problems[-1] and ps[57] == problems[57]
    with pytest.raises(IndexError):
        ps[200]
    assert list(ps[10:20]) == problems[10:20] and isinstance(ps[10:20], ProblemSet)
    assert list(ps.subset([5, 1, 5])) == [problems[5], problems[1], problems[5]]
    assert ps.ids[3] == "p3" and ps.ids[-1] == "p199" and ps.ids[:3] == ["p0", "p1", "p2"]
    assert ps.questions[2] == "What is 2 + 1?" and ps.questions[::100] == [
        "What is 0 + 1?",
        "What is 100 + 1?",
    ]
    assert ps.positions() == {p.id: i for i, p in enumerate(problems)}
    assert ps.positions().get("p7") == 7 and ps.positions().get("nope") is None and "p0" in ps.positions()
    repeated = ProblemSet.of([problems[0], problems[1], problems[0], problems[2]])
    assert dict(repeated.positions()) == {"p0": 2, "p1": 1, "p2": 3} and len(repeated.positions()) == 3
    assert ps.has_gold and not ps.subset([0, 2, 4]).has_gold and ps.subset([0, 1]).has_gold
    assert not ProblemSet().has_gold and len(ProblemSet()) == 0
    # the fingerprint of problems given directly: the bytes hashed are those of earlier releases
    h = hashlib.sha256()
    for p in problems:
        h.update(p.model_dump_json().encode() + b"\n")
    assert problems_fingerprint(ps) == problems_fingerprint(problems) == "sha256:" + h.hexdigest()
    ps[0].metadata["i"] = 99  # a Problem given out is the caller's: the set does not change
    assert ps[0] == problems[0]


def test_a_problem_set_is_small(tmp_path):
    """50,000 short problems, loaded from a file: a few tens of bytes each (a loaded `Problem`
    is ~3 KB), counted by tracemalloc while the set is built."""
    n = 50_000
    path = _rows(
        tmp_path / "many.jsonl",
        [{"id": f"p{i}", "question": f"What is {i} + 42 - {i}?", "answer": "42"} for i in range(n)],
    )
    tracemalloc.start()
    try:
        ps = load_problem_set(str(path))
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(ps) == n and ps[n - 1].question == f"What is {n - 1} + 42 - {n - 1}?"
    assert held / n < 100, f"{held / n:.0f} bytes a problem held"
    assert peak / n < 400, f"{peak / n:.0f} bytes a problem at the peak of loading"
