"""Shared rich consoles: results to stdout, progress and errors to stderr. Every printed string goes
through the secret redaction of rft.redaction first (a key never reaches the terminal)."""

from __future__ import annotations

from typing import Any

from rich.console import Console


class RedactingConsole(Console):
    def print(self, *objects: Any, **kwargs: Any) -> None:
        from rft.redaction import redact_text

        super().print(*(redact_text(o) if isinstance(o, str) else o for o in objects), **kwargs)


out = RedactingConsole(highlight=False, emoji=False)  # ":m:" in "openai:m:..." is not an emoji
err = RedactingConsole(stderr=True, highlight=False, emoji=False)
