"""`local:smollm2-135m`: the real SmolLM2-135M weights from the installed GGUF, batched generation."""

from __future__ import annotations

import asyncio

import pytest
import torch
from typer.testing import CliRunner

from rft.cli import app
from rft.errors import TeacherError
from rft.teachers import TeacherConfig, make_teacher
from rft.teachers.local import resolve_local_model
from rft.teachers.local_model import pick_device, pick_dtype

pytestmark = pytest.mark.slow

PROMPTS = [
    "What is 7 + 5?",
    "Name a primary color.",
    "Write one word that rhymes with cat.",
    "What is the capital of France? Explain briefly why it matters.",
    "Count from 1 to 5.",
    "Is 9 a prime number?",
]


def msgs(p: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": p}]


@pytest.fixture(scope="module")
def teacher_opts() -> TeacherConfig:
    return TeacherConfig(max_batch_size=8, batch_wait_ms=30)


def test_resolve_alias_to_converted_folder(smollm2_dir):
    assert (smollm2_dir / "config.json").exists() and (smollm2_dir / "model.safetensors").exists()
    assert (smollm2_dir / "tokenizer.json").exists() and (smollm2_dir / ".rft-converted").exists()
    assert "quantization_config" not in (smollm2_dir / "config.json").read_text()
    assert resolve_local_model("smollm2-135m") == smollm2_dir
    assert resolve_local_model(str(smollm2_dir)) == smollm2_dir.resolve()


def test_device_and_dtype_choice():
    dev = pick_device(None)
    assert dev == ("cuda" if torch.cuda.is_available() else dev)
    assert pick_dtype(None, "cpu") == torch.float32
    assert pick_dtype("bfloat16", "cpu") == torch.bfloat16
    with pytest.raises(TeacherError, match="--dtype float8x"):
        pick_dtype("float8x", "cpu")


def test_greedy_batched_equals_unbatched(smollm2_dir, teacher_opts):
    async def main():
        t = make_teacher("local:smollm2-135m", teacher_opts)
        try:
            single = [(await t.chat(msgs(p), temperature=0.0, max_tokens=16))[0] for p in PROMPTS]
            before = len(t.generator.batches)
            batched = await asyncio.gather(
                *(t.chat(msgs(p), temperature=0.0, max_tokens=16) for p in PROMPTS)
            )
            return t, single, [b[0] for b in batched], t.generator.batches[before:]
        finally:
            await t.aclose()

    t, single, batched, sizes = asyncio.run(main())
    assert max(sizes) >= 3, sizes  # the concurrent requests really shared a generate call
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.completion_tokens for c in batched] == [c.completion_tokens for c in single]
    assert all(c.text.strip() for c in single)
    assert single[0].model == "local:smollm2-135m" and single[0].cost_usd == 0.0
    assert single[0].prompt_tokens > 10
    assert t.usage.calls == 12 and t.usage.cost_usd == 0.0


def test_seeded_sampling_reproducible_whatever_the_batch(teacher_opts):
    async def main():
        t = make_teacher("local:smollm2-135m", teacher_opts)
        try:
            alone = await t.chat(msgs(PROMPTS[3]), n=3, temperature=1.0, max_tokens=12, seed=11)
            crowd = await asyncio.gather(
                t.chat(msgs(PROMPTS[0]), n=2, temperature=0.7, max_tokens=12),
                t.chat(msgs(PROMPTS[3]), n=3, temperature=1.0, max_tokens=12, seed=11),
                t.chat(msgs(PROMPTS[4]), temperature=0.0, max_tokens=12),
            )
            other = await t.chat(msgs(PROMPTS[3]), n=3, temperature=1.0, max_tokens=12, seed=12)
            return alone, crowd[1], other
        finally:
            await t.aclose()

    alone, in_crowd, other = asyncio.run(main())
    assert [c.text for c in alone] == [c.text for c in in_crowd]
    assert len({c.text for c in alone}) > 1  # n samples differ from each other
    assert [c.text for c in other] != [c.text for c in alone]


def test_stop_strings_and_truncation(teacher_opts):
    async def main():
        t = make_teacher("local:smollm2-135m", teacher_opts)
        try:
            return await asyncio.gather(
                t.chat(
                    msgs("Count from 1 to 20, one number per line."),
                    temperature=0.0,
                    max_tokens=40,
                    stop=["\n"],
                ),
                t.chat(msgs("Write a long story about a dragon."), temperature=0.0, max_tokens=3),
            )
        finally:
            await t.aclose()

    (stopped,), (cut,) = asyncio.run(main())
    assert "\n" not in stopped.text and stopped.finish_reason == "stop" and not stopped.truncated
    assert stopped.completion_tokens < 40
    assert cut.finish_reason == "length" and cut.truncated and cut.completion_tokens == 3


def test_ping_local_cli(smollm2_dir):
    res = CliRunner().invoke(app, ["teacher", "ping", "local:smollm2-135m", "--max-tokens", "6"])
    assert res.exit_code == 0, res.output
    assert "model     local:smollm2-135m" in res.output
    assert "cost      $0 (local model)" in res.output
    assert "n         yes" in res.output


def test_teachers_on_one_model_share_batches(teacher_opts):
    """A generator and a judge on the same local model: their requests go into the same batches."""

    async def main():
        gen, judge = (
            make_teacher("local:smollm2-135m", teacher_opts),
            make_teacher("local:smollm2-135m", teacher_opts),
        )
        try:
            assert gen.generator is judge.generator
            before = len(gen.generator.batches)
            await asyncio.gather(
                *(gen.chat(msgs(p), temperature=0.0, max_tokens=4) for p in PROMPTS[:3]),
                *(judge.chat(msgs(p), temperature=0.0, max_tokens=4) for p in PROMPTS[3:]),
            )
            sizes = gen.generator.batches[before:]
            await gen.aclose()
            (after_close,) = await judge.chat(msgs(PROMPTS[0]), temperature=0.0, max_tokens=4)  # still served
            return sizes, after_close
        finally:
            await gen.aclose()
            await judge.aclose()

    sizes, after_close = asyncio.run(main())
    assert max(sizes) > 3, sizes
    assert after_close.text
