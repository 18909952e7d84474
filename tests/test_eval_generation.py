"""`rft.eval.generation.Models.generate`'s own decode loop (finished rows leave the batch and the KV
cache) against `model.generate` through the local teacher's `BatchGenerator`, one prompt at a time:
the same tokens, counts and finish reasons, greedy and seeded sampling, in one batch, with rows
that end early beside one that runs to its limit (real SmolLM2-135M on CPU)."""

from __future__ import annotations

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
