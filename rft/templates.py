"""Prompt templates shared by the stages: Jinja (`.j2`/`.jinja` files, or any text containing `{{` or
`{%`) or a plain Python format string (`{question}`). A template's fields are checked when it is
loaded: an unknown field is a ConfigError naming the file and the field.
"""

from __future__ import annotations

import functools
import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from rft.errors import ConfigError

PROMPT_DIR = "prompts"

# Fields every template over a question and its steps so far may use. `steps` is a list of step
# texts, `steps_text` the same as numbered lines.
STEP_FIELDS = frozenset({"question", "steps", "steps_text", "step_number", "domain"})

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


def prompt_folder(package: str):
    """The `prompts/` folder of a package (a Traversable)."""
    return resources.files(package).joinpath(PROMPT_DIR)


def package_text(package: str, filename: str) -> str:
    """A file of `package`'s `prompts/` folder."""
    return prompt_folder(package).joinpath(filename).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Template:
    """One user-message template (Jinja or format string) with the fields it uses."""

    source: str
    origin: str
    jinja: bool

    @classmethod
    def from_text(cls, text: str, origin: str, allowed: frozenset[str]) -> Template:
        jinja = origin.endswith((".j2", ".jinja", ".jinja2")) or "{{" in text or "{%" in text
        tpl = cls(text, origin, jinja)
        unknown = sorted(tpl.fields() - allowed)
        if unknown:
            raise ConfigError(
                f"{origin}: unknown template field {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})"
            )
        return tpl

    @classmethod
    def from_file(cls, path: str | Path, allowed: frozenset[str]) -> Template:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"--prompt-template: cannot read {p}: {exc.strerror or exc}") from exc
        if not text.strip():
            raise ConfigError(f"{p}: prompt template is empty")
        return cls.from_text(text, str(p), allowed)

    @classmethod
    def package(cls, package: str, filename: str, allowed: frozenset[str]) -> Template:
        """A template shipped in `package`'s `prompts/` folder."""
        origin = f"{package.replace('.', '/')}/{PROMPT_DIR}/{filename}"
        return cls.from_text(package_text(package, filename), origin, allowed)

    def fields(self) -> set[str]:
        if self.jinja:
            try:
                ast = _ENV.parse(self.source)
            except jinja2.TemplateSyntaxError as exc:
                raise ConfigError(
                    f"{self.origin}:{exc.lineno}: template syntax error: {exc.message}"
                ) from exc
            return set(meta.find_undeclared_variables(ast)) - {"loop"}
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(self.source) if f is not None}
        except ValueError as exc:
            raise ConfigError(f"{self.origin}: bad format template: {exc}") from exc
        out: set[str] = set()
        for name in names:
            if name == "" or name.isdigit():
                raise ConfigError(f"{self.origin}: positional field '{{{name}}}' not allowed, name it")
            out.add(name.split(".")[0].split("[")[0])
        return out

    def render(self, **values: Any) -> str:
        if self.jinja:
            return _compiled(self.source).render(**values).strip()
        return self.source.format(**values).strip()


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> jinja2.Template:
    """A Jinja template compiled once per source (compiling costs more than rendering, per call)."""
    return _ENV.from_string(source)


def step_values(question: str, steps: list[str], domain: str) -> dict[str, Any]:
    """The STEP_FIELDS values for a question and the steps so far."""
    return {
        "question": question,
        "steps": steps,
        "steps_text": "\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1)),
        "step_number": len(steps) + 1,
        "domain": domain,
    }
