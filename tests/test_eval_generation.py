"""`rft.eval.generation.Models.generate`'s own decode loop (finished rows leave the batch and the KV
cache) against `model.generate` through the local teacher's `BatchGenerator`, one prompt at a time:
the same tokens, counts and finish reasons, greedy and seeded sampling, in one batch, with rows
that end early beside one that runs to its limit (real SmolLM2-135M on CPU)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="module")
def models(smollm2_dir):
    from rft.eval.generation import Models

    return Models(smollm2_dir, "cpu", None)


QUESTIONS = ("What is 2+3? Answer with just the number.", "Say hi.", "Write a long story about a dragon.",
             "What colour is the sky? One word.")  # fmt: skip


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_decode_loop_gives_what_model_generate_gives(models, temperature):
    from rft.teachers.batching import BatchGenerator, Row

    prompts = [models.encode([{"role": "user", "content": q}]) for q in QUESTIONS]
    seeds = [None] * 4 if temperature == 0 else [11, 12, 13, 14]
    reference = [Row(p, temperature, 32, None, s) for p, s in zip(prompts, seeds, strict=True)]
    hf = BatchGenerator(models.model, models.tokenizer, "cpu", 1, 0.0)
    for row in reference:
        hf.generate([row])
    assert {r.finish_reason for r in reference} == {"stop", "length"}  # early ends beside a row that runs on
    got = models.generate(prompts, seeds, temperature=temperature, max_new_tokens=32, batch_size=4)
    assert [(g.text, g.tokens, g.finish_reason) for g in got] == [
        (r.text, r.completion_tokens, r.finish_reason) for r in reference
    ]


FEW_SHOT = "\n\n".join(
    f"Example {k}: {k} + {k} = {2 * k}. The sum of {k} and {k} is {2 * k}." for k in range(1, 9)
)


def test_shared_prefix_and_repeated_prompts_give_what_model_generate_gives(models):
    """Prompts behind a long common prefix (few-shot exemplars in the system turn), one prompt asked
    three times with three seeds (--samples 3), lengths far apart (several prefill groups): each row's
    tokens equal its own one-at-a-time `model.generate`, and the prompt compute is less than a
    left-padded batch would spend."""
    from rft.teachers.batching import BatchGenerator, Row

    asks = ["What is 7 + 7?", "What is 7 + 7?", "What is 7 + 7?", "Say hi.",
            "Write a long story about a dragon who counts sheep, with many numbers in it, and tell it slowly."]  # fmt: skip
    prompts = [
        models.encode([{"role": "system", "content": FEW_SHOT}, {"role": "user", "content": q}]) for q in asks
    ]
    seeds = [21, 22, 23, 24, 25]
    reference = [Row(p, 0.8, 24, None, s) for p, s in zip(prompts, seeds, strict=True)]
    hf = BatchGenerator(models.model, models.tokenizer, "cpu", 1, 0.0)
    for row in reference:
        hf.generate([row])
    assert len({r.text for r in reference[:3]}) > 1  # the three samples of one prompt differ
    before = models.prompt_tokens_computed
    got = models.generate(prompts, seeds, temperature=0.8, max_new_tokens=24, batch_size=5)
    assert [(g.text, g.tokens, g.finish_reason) for g in got] == [
        (r.text, r.completion_tokens, r.finish_reason) for r in reference
    ]
    computed = models.prompt_tokens_computed - before
    shared = len(os.path.commonprefix(prompts))
    distinct = {tuple(p) for p in prompts}
    assert shared > 100
    # the prefix once, each distinct prompt's own part once (some padding within a group allowed)
    own = sum(len(p) - shared for p in distinct)
    assert shared + own <= computed <= shared + 1.15 * own + len(distinct)
    assert computed < len(prompts) * max(len(p) for p in prompts) / 3


def test_prefill_groups_keep_padding_small():
    from rft.eval.prefill import GROUP_TOKENS, _groups

    assert _groups([10, 10, 11, 11]) == [[0, 1, 2, 3]]
    assert _groups([5, 5, 50, 52]) == [[0, 1], [2, 3]]
    assert _groups([3]) == [[0]]
    long = GROUP_TOKENS // 2
    assert _groups([long, long, long]) == [[0, 1], [2]]
    assert _groups([GROUP_TOKENS * 2]) == [[0]]  # one row always goes, however long


def test_a_cache_that_cannot_be_merged_is_read_as_one_padded_batch(models, monkeypatch):
    """Models whose cache has sliding-window (or other) layers skip the shared prefix and the
    reserved cache: the prompts are one left-padded batch in transformers' own cache, same tokens."""
    from rft.eval import prefill
    from rft.teachers.batching import BatchGenerator, Row

    prompts = [models.encode([{"role": "user", "content": q}]) for q in QUESTIONS]
    reference = [Row(p, 0.0, 16, None, None) for p in prompts]
    hf = BatchGenerator(models.model, models.tokenizer, "cpu", 1, 0.0)
    for row in reference:
        hf.generate([row])
    monkeypatch.setattr(prefill, "shareable", lambda config: False)
    before = models.prompt_tokens_computed
    got = models.generate(prompts, [None] * 4, temperature=0.0, max_new_tokens=16, batch_size=4)
    assert [(g.text, g.tokens) for g in got] == [(r.text, r.completion_tokens) for r in reference]
    assert models.prompt_tokens_computed - before == 4 * max(len(p) for p in prompts)


@pytest.mark.parametrize("temperature", [0.0, 0.8])
def test_continuous_batching_joins_new_rows_and_gives_what_model_generate_gives(
    models, temperature, monkeypatch
):
    """More prompts than the batch holds, ending at different steps: rows that end are replaced by
    the next prompts while the others decode (`prefill.join`: caches of different widths, columns of
    rows that left dropped), and every row's tokens equal its one-at-a-time `model.generate`. The
    few-shot prefix is read once for all the admissions (the memo); `on_done` hears of each row once,
    `flush_every` at a time."""
    from rft.eval import prefill
    from rft.teachers.batching import BatchGenerator, Row

    asks = ["Say hi.", "What is 2+3? Answer with just the number.", "Write a long story about a dragon.",
            "What colour is the sky? One word.", "Count from one to twenty in words.",
            "What is 10 - 4? Answer with the number only."]  # fmt: skip
    prompts = [
        models.encode([{"role": "system", "content": FEW_SHOT}, {"role": "user", "content": q}]) for q in asks
    ]
    seeds = [None] * len(asks) if temperature == 0 else list(range(31, 31 + len(asks)))
    reference = [Row(p, temperature, 24, None, s) for p, s in zip(prompts, seeds, strict=True)]
    hf = BatchGenerator(models.model, models.tokenizer, "cpu", 1, 0.0)
    for row in reference:
        hf.generate([row])
    assert len({r.completion_tokens for r in reference}) > 2  # rows end at different steps

    joins = []
    real_join = prefill.join

    def counting_join(running, new, reserve, config):
        joins.append((running.mask.shape, new.mask.shape))
        return real_join(running, new, reserve, config)

    monkeypatch.setattr(prefill, "join", counting_join)
    heard: list[list[int]] = []
    before = models.prompt_tokens_computed
    got = models.generate(
        prompts, seeds, temperature=temperature, max_new_tokens=24, batch_size=4,
        on_done=lambda pairs: heard.append([i for i, _ in pairs]), flush_every=3,
    )  # fmt: skip
    assert [(g.text, g.tokens, g.finish_reason) for g in got] == [
        (r.text, r.completion_tokens, r.finish_reason) for r in reference
    ]
    assert joins and all(running[0] > 0 for running, _ in joins)  # new rows joined running ones
    assert sorted(i for chunk in heard for i in chunk) == list(range(len(asks)))
    assert [len(c) for c in heard[:-1]] == [3] * (len(heard) - 1) and 1 <= len(heard[-1]) <= 3
    shared = len(os.path.commonprefix(prompts))
    own = sum(len(p) - shared for p in prompts)
    assert models.prompt_tokens_computed - before <= shared + 1.15 * own + len(prompts)
    for g in got:
        assert 0 < g.latency_s <= g.elapsed_s
