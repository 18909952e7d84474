"""The README's claims that can drift: its first generate example is what `make demo` runs."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _makefile_demo_command() -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    flags = re.search(r"^DEMO_FLAGS \?= (.*?)\n\n", text, re.S | re.M).group(1).replace("\\\n", " ")
    line = next(x for x in text.splitlines() if "rft generate" in x and "$(DEMO_FLAGS)" in x)
    args = line.split("rft generate", 1)[1].replace("$(DEMO_FLAGS)", flags)
    return shlex.split(args)


def _readme_demo_command() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("(what `make demo` runs)", 1)[1].split("\n\n", 1)[0]
    return shlex.split(block.replace("\\\n", " ").split("rft generate", 1)[1])


def _pairs(args: list[str]) -> dict[str, str]:
    return {a: b for a, b in zip(args[::2], args[1::2], strict=True)}


def test_readme_demo_example_is_what_make_demo_runs():
    assert _pairs(_readme_demo_command()) == _pairs(_makefile_demo_command())
