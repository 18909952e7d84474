"""Parsing a problem-source string into a `SourceSpec`: a file, `hf:` Hub dataset, `demo`, or a
preset name standing for its Hub dataset (known Hub ids imply their preset and default split)."""

from __future__ import annotations

import re
from pathlib import Path

from rft.errors import ConfigError
from rft.problems.presets import PRESETS, preset_for_hub_id
from rft.problems.spec import SourceSpec
from rft.problems.testsplits import default_split

DEMO_DEFAULT_SIZE = 100

_HF_RE = re.compile(
    r"^hf:(?P<name>[A-Za-z0-9_.\-]+(?:/[A-Za-z0-9_.\-]+)?)"
    r"(?::(?P<config>[^@#]+))?(?:@(?P<split>[^#]+))?(?:#(?P<revision>.+))?$"
)
_DEMO_RE = re.compile(r"^demo(?::(?P<size>[^:]*))?(?::(?P<seed>[^:]*))?$")


def _int_part(text: str | None, default: int, what: str, source: str, minimum: int) -> int:
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ConfigError(f"problem source {source!r}: {what} must be an integer, got {text!r}") from None
    if value < minimum:
        raise ConfigError(f"problem source {source!r}: {what} must be >= {minimum}, got {value}")
    return value


def parse_source(source: str) -> SourceSpec:
    """Parse `path`, `hf:owner/name[:config][@split][#revision]`, `demo[:size[:seed]]` or a preset name.

    A preset name alone (`gsm8k`, `math`, ...) is shorthand for that preset's Hub dataset.
    A Hub id that belongs to a preset implies that preset.
    """
    source = (source or "").strip()
    if not source:
        raise ConfigError("problem source is empty: give a file, hf:owner/name, demo, or a preset name")
    if source.startswith("hf:"):
        m = _HF_RE.match(source)
        if not m:
            raise ConfigError(
                f"problem source {source!r}: expected hf:owner/name, optionally followed by :config, @split, #revision"
            )
        name = m["name"]
        preset = preset_for_hub_id(name)
        split = m["split"] or default_split(name)
        config = m["config"] or (PRESETS[preset].hub_config if preset else None)
        return SourceSpec("hub", name, config=config, split=split, revision=m["revision"], preset=preset)
    m = _DEMO_RE.match(source)
    if m and not Path(source).exists():
        size = _int_part(m["size"], DEMO_DEFAULT_SIZE, "demo size", source, 1)
        seed = _int_part(m["seed"], 0, "demo seed", source, 0)
        return SourceSpec("builtin", "demo", size=size, seed=seed)
    if source in PRESETS and not Path(source).exists():
        p = PRESETS[source]
        if p.train_source:  # a preset's name stands for its train split (generation data)
            train = parse_source(p.train_source)
            return SourceSpec("hub", train.name, config=train.config, split=train.split, preset=source)
        return SourceSpec("hub", p.hub_id, config=p.hub_config, split=p.hub_split, preset=source)
    return SourceSpec("file", source)
