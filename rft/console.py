"""Shared rich consoles: results to stdout, progress and errors to stderr."""

from __future__ import annotations

from rich.console import Console

out = Console(highlight=False, emoji=False)  # ":m:" in "openai:m:..." is not an emoji
err = Console(stderr=True, highlight=False, emoji=False)
