"""rft train's data and its checks: which records are trained on, how they are rendered, the stable
eval split, the completion-only mask (token by token, on TRL's processed dataset with the real
SmolLM2 tokenizer), and the bad inputs that end with one line and exit 2 before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record, make_records

from rft.config import load_config
from rft.errors import InputError
from rft.schemas import Message, Trace
from rft.store import Store
from rft.train.config import TrainConfig
from rft.train.data import build_train_data, eval_fraction, examples_from_records, split


def _cfg(**flags) -> TrainConfig:
    return load_config(TrainConfig, None, {"dataset": "d", **flags})


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


def test_only_trainable_records_by_default_and_include_takes_them_back():
    records = [*make_records(3), make_record("u1", solved=False), make_record("u2", solved=False)]
    examples, dropped, included = examples_from_records(records, _cfg().data)
    assert [e.id for e in examples] == ["p0", "p1", "p2"]
    assert dropped == {"unsolved": 2} and not included
    examples, dropped, included = examples_from_records(records, _cfg(include="unsolved").data)
    assert len(examples) == 5 and not dropped and included == {"unsolved": 2}


def test_examples_are_conversational_prompt_completion_with_the_system_prompt():
    [ex], _, _ = examples_from_records([make_record("p0")], _cfg(system="Think step by step.").data)
    assert ex.prompt == [
        {"role": "system", "content": "Think step by step."},
        {"role": "user", "content": make_record("p0").problem.question},
    ]
    assert [m["role"] for m in ex.completion] == ["assistant"]
    assert ex.completion[0]["content"].endswith("The answer is 31.")


def test_render_path_and_backtrack_give_different_training_text_from_the_same_records():
    records = [make_record("p0"), make_record("p1")]
    path, _, _ = examples_from_records(records, _cfg(render="path").data)
    back, _, _ = examples_from_records(records, _cfg(render="backtrack").data)
    for p, b in zip(path, back, strict=True):
        assert p.prompt == b.prompt and p.text() != b.text()
        assert "36 + 5 = 41" not in p.text()  # the correct path only
        assert "36 + 5 = 41" in b.text() and "36 - 5 = 31" in b.text()  # the wrong turn, then the fix
        assert "Step 2" in b.text()  # the backtrack names the step it goes back from


def test_eval_split_is_stable_by_problem_id():
    records = make_records(200)
    examples, _, _ = examples_from_records(records, _cfg().data)
    train, held = split(examples, 0.1)
    assert 5 <= len(held) <= 40 and len(train) + len(held) == 200
    again_train, again_held = split(list(reversed(examples)), 0.1)
    assert {e.id for e in again_held} == {e.id for e in held}  # order does not matter
    fewer_train, fewer_held = split(examples[:100], 0.1)  # neither do the other records
    assert {e.id for e in fewer_held} == {e.id for e in held if e.id in {x.id for x in examples[:100]}}
    assert all(eval_fraction(e.id) < 0.1 for e in held)
    assert split(examples[:3], 0.0) == (examples[:3], [])
    assert len(split(examples[:3], 0.01)[1]) == 1  # a tiny set still gets one eval problem


def _seal(root: Path, name: str, records) -> None:
    Store(root).seal(name, records, manifest={"teacher": "local:smollm2-135m"})


@pytest.mark.slow
def test_records_over_max_length_are_dropped_and_counted(tmp_path, tokenizer):
    _seal(tmp_path, "d", [*make_records(3), make_record("long", question="Why? " * 400)])
    loaded = Store(tmp_path).load_ref("d")
    data = build_train_data(loaded, _cfg(max_length=256, eval_split=0).data, tokenizer)
    assert [e.id for e in data.train] == ["p0", "p1", "p2"] and data.dropped == {"too_long": 1}
    assert all(e.tokens <= 256 for e in data.train)
    assert "1 over --max-length 256 tokens dropped" in data.summary(256)
    assert data.data_sha256 == loaded.manifest.files["data.jsonl"].sha256


@pytest.mark.slow
def test_nothing_trainable_says_how_many_were_dropped_and_the_flag(tmp_path, tokenizer):
    _seal(tmp_path, "d", [make_record("u1", solved=False), make_record("u2", solved=False)])
    with pytest.raises(InputError) as exc:
        build_train_data(Store(tmp_path).load_ref("d"), _cfg().data, tokenizer)
    assert str(exc.value) == (
        "nothing to train on in d@v1: 2 of 2 records dropped (2 unsolved); "
        "--include unsolved keeps the untrainable ones"
    )


@pytest.mark.slow
def test_a_dataset_without_messages_or_traces_is_one_line(tmp_path, tokenizer):
    bare = make_record("p0").model_copy(
        update={"messages": [Message(role="user", content="q")], "trace": Trace()}
    )
    _seal(tmp_path, "d", [bare])
    with pytest.raises(InputError, match="no record has messages or a trace"):
        build_train_data(Store(tmp_path).load_ref("d"), _cfg().data, tokenizer)
    with pytest.raises(InputError, match="--render path re-renders traces"):
        build_train_data(Store(tmp_path).load_ref("d"), _cfg(render="path").data, tokenizer)


@pytest.mark.slow
def test_the_loss_mask_covers_the_assistant_turn_and_eos_and_nothing_of_the_prompt(tmp_path, smollm2_dir):
    """Token by token, on the dataset TRL's SFTTrainer prepared: labels are -100 on every prompt token
    (system, user, the assistant header) and equal the input ids on the completion, whose tokens
    decode to the assistant text + <|im_end|> + the newline the template puts after it."""
    from rft.train.run import prepare_run
    from rft.train.sft import build_trainer

    _seal(tmp_path / "ds", "d", make_records(2))
    cfg = _cfg(store=str(tmp_path / "ds"), system="Be brief.", eval_split=0, max_steps=1)
    prep = prepare_run(cfg)
    tok = prep.tokenizer
    trainer = build_trainer(prep, cfg.variants()[0], tmp_path / "work", [])
    processed = trainer.train_dataset
    assert len(processed) == len(prep.data.train) == 2
    for ex, row in zip(prep.data.train, processed, strict=True):
        ids, labels = row["input_ids"], row["labels"]
        prompt_ids = tok.apply_chat_template(ex.prompt, add_generation_prompt=True, tokenize=True)[
            "input_ids"
        ]
        assert ids[: len(prompt_ids)] == prompt_ids
        for i, (tid, lab) in enumerate(zip(ids, labels, strict=True)):
            if i < len(prompt_ids):
                assert lab == -100, f"prompt token {i} {tok.decode([tid])!r} is in the loss"
            else:
                assert lab == tid, f"completion token {i} {tok.decode([tid])!r} is not in the loss"
        completion = tok.decode(ids[len(prompt_ids) :])
        assert completion == ex.text() + "<|im_end|>\n"
        trained = [lab for lab in labels if lab != -100]
        assert tok.eos_token == "<|im_end|>" and trained[-2:] == [tok.eos_token_id, tok.encode("\n")[0]]
        assert "Be brief." in tok.decode(ids[: len(prompt_ids)])

    # packed (bfd, padding-free): the same tokens are in the loss, and nothing else
    packed_cfg = _cfg(store=str(tmp_path / "ds"), system="Be brief.", eval_split=0, max_steps=1, packing=True)
    packed = build_trainer(prepare_run(packed_cfg), cfg.variants()[0], tmp_path / "work2", []).train_dataset
    assert len(packed) == 1  # both examples fit in one --max-length row
    trained = [t for t, lab in zip(packed[0]["input_ids"], packed[0]["labels"], strict=True) if lab != -100]
    unpacked = [
        t for row in processed for t, lab in zip(row["input_ids"], row["labels"], strict=True) if lab != -100
    ]
    assert sorted(trained) == sorted(unpacked)
    assert sorted(packed[0]["seq_lengths"]) == sorted(len(row["input_ids"]) for row in processed)


# --- bad input: one line, exit 2, no variant folder ------------------------------------------------


@pytest.fixture
def store(tmp_path) -> Path:
    _seal(tmp_path / "ds", "d", make_records(3))
    _seal(tmp_path / "ds", "unsolved", [make_record("u1", solved=False), make_record("u2", solved=False)])
    return tmp_path / "ds"


def _bad(capsys, tmp_path, *args: str) -> str:
    code, _, stderr = rft(capsys, "train", *args, "--out", str(tmp_path / "runs"), "--max-steps", "1")
    assert code == 2, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    runs = tmp_path / "runs"
    assert not runs.exists() or not any(p.name.startswith("r") for p in runs.rglob("*") if p.is_dir())
    return lines[0]


def test_rank_zero_is_one_line(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "d", "--store", str(store), "--rank", "0")
    assert "--rank" in line and "must be > 0" in line


def test_a_grid_value_that_is_not_a_number_is_one_line(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "d", "--store", str(store), "--rank", "4,16", "--alpha", "16,x")
    assert "--alpha" in line and "'x' is not a whole number" in line


def test_a_missing_base_is_one_line(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "d", "--store", str(store), "--base", str(tmp_path / "no-such-model"))
    assert "--base" in line and "no-such-model" in line
    line = _bad(capsys, tmp_path, "d", "--store", str(store), "--base", "nobody/no-such-model-xyz")
    assert "--base nobody/no-such-model-xyz: not found offline" in line


@pytest.mark.slow
def test_an_unknown_target_module_lists_the_ones_the_model_has(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "d", "--store", str(store), "--target-modules", "q_proj,qkv_proj")
    assert "qkv_proj" in line
    for name in ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"):
        assert name in line


@pytest.mark.slow
def test_nothing_trainable_is_one_line_naming_the_flag(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "unsolved", "--store", str(store))
    assert "2 of 2 records dropped (2 unsolved)" in line and "--include unsolved" in line


def test_a_missing_dataset_is_one_line(capsys, tmp_path, store):
    line = _bad(capsys, tmp_path, "nope", "--store", str(store))
    assert "nope" in line


def test_a_config_file_nested_or_flat_gives_the_config_the_flags_give(tmp_path):
    nested = tmp_path / "train.yaml"
    nested.write_text(
        "train:\n  dataset: d@v2\n  lora: {rank: [4, 16], alpha: 32, target_modules: all-linear}\n"
        "  optim: {lr: 1.0e-4, packing: true}\n  data: {render: path, include: unsolved}\n"
    )
    flat = tmp_path / "train.toml"
    flat.write_text(
        'dataset = "d@v2"\nrank = "4,16"\nalpha = [32]\ntarget_modules = "all-linear"\nlr = 1e-4\n'
        'packing = true\nrender = "path"\ninclude = ["unsolved"]\n'
    )
    flags = {"dataset": "d@v2", "rank": "4,16", "alpha": "32", "target_modules": "all-linear", "lr": 1e-4,
             "packing": True, "render": "path", "include": "unsolved"}  # fmt: skip
    want = load_config(TrainConfig, None, flags)
    assert load_config(TrainConfig, nested, {}) == load_config(TrainConfig, flat, {}) == want
    assert [v.name for v in want.variants()] == ["r4-a32", "r16-a32"]
    # flags override the file
    assert load_config(TrainConfig, nested, {"rank": "8"}).lora.rank == [8]
    # the resolved config a variant saves (config.yaml) loads back to that one variant, same identity
    v = want.variants()[1]
    saved = tmp_path / "config.yaml"
    saved.write_text(yaml.safe_dump(want.for_variant(v)))
    again = load_config(TrainConfig, saved, {})
    assert again.variants() == [v] and again.identity(v, "sha", "base") == want.identity(v, "sha", "base")
    assert want.identity(v, "sha", "base") != want.identity(v, "other", "base")


def test_rank_zero_in_a_config_file_names_the_file(capsys, tmp_path, store):
    cfg = tmp_path / "train.yaml"
    cfg.write_text(f"dataset: d\nstore: {store}\nlora:\n  rank: [0]\n")
    line = _bad(capsys, tmp_path, "--config", str(cfg))
    assert line == f"error: --rank ({cfg}): must be > 0, got 0"


def test_a_failed_allocation_is_recognised_as_out_of_memory():
    import torch

    from rft.train.sft import is_oom

    with pytest.raises(RuntimeError) as exc:
        torch.empty(1 << 50, dtype=torch.uint8)  # a petabyte: the CPU allocator refuses it
    assert is_oom(exc.value)
    assert not is_oom(RuntimeError("shape mismatch"))


def test_a_variant_identity_is_what_it_trains_not_where_it_is_written():
    v = _cfg().variants()[0]
    ident = _cfg().identity(v, "sha", "base")
    same = {
        "dataset": "d@v1",
        "out": "elsewhere",
        "name": "x",
        "device": "cpu",
        "save_steps": 7,
        "merge": True,
    }
    assert load_config(TrainConfig, None, same).identity(v, "sha", "base") == ident
    for other in ({"lr": 1e-3}, {"render": "path"}, {"max_length": 512}, {"target_modules": "q_proj"}):
        assert _cfg(**other).identity(v, "sha", "base") != ident, other
    assert _cfg().identity(v, "sha", "other base") != ident


def test_batches_are_padding_free_by_default_and_grouped_by_length_only_when_padded(tmp_path):
    """By default each batch is flattened into one row (no padding, so no length grouping is needed, and
    TRL's max_length, which it would not enforce there, is left to rft's own drop); --no-padding-free
    pads, and --group-by-length then draws batches of similar lengths."""
    import torch

    from rft.train.sft import Prepared, sft_config

    def args(**flags):
        cfg = TrainConfig.model_validate({"dataset": "d", **flags})
        prep = Prepared(cfg, None, None, None, "cpu", torch.float32, "all-linear")
        return sft_config(prep, tmp_path)

    default = args()
    assert default.padding_free and default.max_length is None and default.train_sampling_strategy == "random"
    padded = args(padding_free=False)
    assert (
        not padded.padding_free
        and padded.max_length == TrainConfig.model_validate({"dataset": "d"}).data.max_length
    )
    assert args(padding_free=False, group_by_length=True).train_sampling_strategy == "group_by_length"
    assert args(packing=True, group_by_length=True).train_sampling_strategy == "random"
    assert args(packing=True).padding_free


@pytest.mark.slow
def test_padding_free_batches_give_the_loss_and_gradients_of_padded_ones(tmp_path):
    """The same examples in one batch, flattened (each attending only to itself through
    rft.train.attention) and padded (sdpa with a padding mask): equal loss and equal LoRA gradients,
    so padding-free changes the speed, not the objective."""
    import torch

    from rft.train.run import prepare_run
    from rft.train.sft import build_trainer

    records = [make_record(f"p{i}", question="x " * (5 + 40 * i)) for i in range(3)]  # unequal lengths
    _seal(tmp_path / "ds", "d", records)
    results = {}
    for free in (True, False):
        cfg = _cfg(store=str(tmp_path / "ds"), eval_split=0, max_steps=1, batch_size=3, padding_free=free)
        prep = prepare_run(cfg)
        trainer = build_trainer(prep, cfg.variants()[0], tmp_path / f"work-{free}", [])
        torch.manual_seed(0)
        for p in trainer.model.parameters():  # the same nonzero adapter on both sides
            if p.requires_grad:
                torch.nn.init.normal_(p, std=0.02)
        trainer.model.eval()  # no LoRA dropout: its masks would differ with the batch's shape
        batch = trainer.data_collator([trainer.train_dataset[i] for i in range(3)])
        if free:
            assert batch["input_ids"].shape[0] == 1 and "attention_mask" not in batch
            assert trainer.model.config._attn_implementation == "rft_varlen_sdpa"
        else:
            assert batch["input_ids"].shape[0] == 3 and not bool(batch["attention_mask"].all())
        loss = trainer.compute_loss(trainer.model, batch)
        loss.backward()
        grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters() if p.requires_grad}
        results[free] = (loss.item(), grads)
    (loss_free, g_free), (loss_pad, g_pad) = results[True], results[False]
    assert loss_free == pytest.approx(loss_pad, rel=1e-4)
    for name, grad in g_pad.items():
        torch.testing.assert_close(g_free[name], grad, rtol=1e-3, atol=1e-5)


def test_the_system_message_the_examples_hold_is_what_the_manifest_records():
    """A system message stored in the records (rft generate --system) counts as much as --system: the
    run's manifest names it, so rft eval asks the adapter with it."""
    from rft.eval.prompting import format_of_adapter
    from rft.schemas import Message
    from rft.train.data import TrainData

    stored = make_record("p0")
    stored.messages = [Message(role="system", content="Be brief."), *stored.messages]
    examples, _, _ = examples_from_records([stored], _cfg().data)
    data = TrainData("d@v1", "", {}, 1, None, train=examples)
    assert data.system() == "Be brief."
    plain, _, _ = examples_from_records([make_record("p1")], _cfg().data)
    assert TrainData("d@v1", "", {}, 1, None, train=plain).system() is None
    fmt, _ = format_of_adapter({"config": {"system": None}, "prompt": {"system": data.system()}})
    assert fmt.system == "Be brief."


def test_the_lean_fused_lm_head_gives_trl_s_loss_and_gradients_and_restores_trl():
    """rft.train.lm_head on the CPU: only the positions in the loss are scored, in narrower vocabulary
    tiles (a tiny Llama with a 10,000-entry vocabulary spans three tiles): the loss, the metrics TRL
    logs and the gradients equal TRL's own, and TRL's names are put back afterwards."""
    import torch
    import trl.trainer.utils as trl_utils
    from transformers import LlamaConfig, LlamaForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    from rft.train.lm_head import VOCAB_TILE, lean_fused_lm_head

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=10_000, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2,
    )  # fmt: skip
    assert config.vocab_size > 2 * VOCAB_TILE
    model = LlamaForCausalLM(config)
    add_fused_lm_head(model, outputs=("log_probs", "entropy", "is_top1"))
    ids = torch.randint(0, config.vocab_size, (2, 24))
    labels = ids.clone()
    labels[:, :10] = -100  # a prompt
    labels[1, 20:] = -100  # padding

    def run():
        model.zero_grad()
        out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]
        return out.loss.item(), out.entropy.sum().item(), int(out.is_top1.sum()), grads

    before = (trl_utils._use_triton, trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE)
    reference = run()
    with lean_fused_lm_head("cpu"):
        assert trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE == VOCAB_TILE
        lean = run()
    assert (trl_utils._use_triton, trl_utils._CHUNKED_LOGPROB_CHUNK_SIZE) == before
    assert lean[0] == pytest.approx(reference[0], rel=1e-5)
    assert lean[1] == pytest.approx(reference[1], rel=1e-4) and lean[2] == reference[2]
    for a, b in zip(lean[3], reference[3], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
