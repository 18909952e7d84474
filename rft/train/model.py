"""The base model of `rft train`: resolved offline and its device and dtype chosen at run time (by
`rft.basemodel`, which `rft eval` shares), loaded, and the `--target-modules` checked against the
modules it has."""

from __future__ import annotations

from typing import Any

from rft.basemodel import BaseModelInfo, device_and_dtype, folder_sha256, resolve
from rft.errors import ConfigError
from rft.train.config import BaseModelConfig

__all__ = ["BaseModelInfo", "folder_sha256", "pick", "resolve_base"]

ALL_LINEAR = "all-linear"


def resolve_base(cfg: BaseModelConfig) -> BaseModelInfo:
    """The base model of --base (`rft.basemodel.resolve`)."""
    return resolve(cfg.base, cfg.revision, "--base")


def pick(cfg: BaseModelConfig) -> tuple[str, Any]:
    """(device, torch dtype) of --device / --dtype for this machine (`rft.basemodel.device_and_dtype`)."""
    return device_and_dtype(cfg.device, cfg.dtype)


def load_tokenizer(info: BaseModelInfo) -> Any:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(info.path, local_files_only=True)
    if not getattr(tok, "chat_template", None):
        raise ConfigError(
            f"--base {info.spec}: the tokenizer has no chat template; rft train needs a chat (instruct) model"
        )
    return tok


def load_model(info: BaseModelInfo, dtype: Any, attention: str | None = None) -> Any:
    """The base model; `attention` names its attention implementation (transformers' default when None)."""
    from transformers import AutoModelForCausalLM

    extra = {"attn_implementation": attention} if attention else {}
    return AutoModelForCausalLM.from_pretrained(info.path, dtype=dtype, local_files_only=True, **extra)


def linear_names(model: Any) -> list[str]:
    """The last names of the model's linear layers (what `--target-modules` may name), lm_head aside."""
    import torch

    names = set()
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ == "Conv1D":
            leaf = name.rsplit(".", 1)[-1]
            if leaf != "lm_head":
                names.add(leaf)
    return sorted(names)


def check_target_modules(model: Any, targets: list[str]) -> str | list[str]:
    """`targets` as PEFT takes them ("all-linear" as a string); a ConfigError listing the module names
    the model has when one of them is not among them."""
    if targets == [ALL_LINEAR]:
        return ALL_LINEAR
    if ALL_LINEAR in targets:
        raise ConfigError(f"--target-modules: {ALL_LINEAR} stands alone (got {','.join(targets)})")
    have = linear_names(model)
    every = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()} | {
        name for name, _ in model.named_modules()
    }
    missing = [t for t in targets if t not in every]
    if missing:
        raise ConfigError(
            f"--target-modules: the model has no module named {', '.join(missing)} "
            f"(its linear layers: {', '.join(have)}; or all-linear)"
        )
    if "lm_head" in targets:
        raise ConfigError(
            "--target-modules: lm_head cannot be adapted (TRL computes the loss from its weight)"
        )
    return list(targets)
