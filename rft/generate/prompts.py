"""Prompt templates: package defaults in `rft/generate/prompts/`, replaceable by user files.

A template is Jinja (`.j2`/`.jinja` files, or any text containing `{{` or `{%`) or a plain Python
format string (`{question}`). Its fields are checked before a run starts: an unknown field is a
ConfigError naming the file and the field.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from rft.errors import ConfigError

PROMPT_DIR = "prompts"

# Fields every template may use. `steps` is a list of step texts, `steps_text` the same as
# numbered lines; `candidate` only exists for judge templates.
STEP_FIELDS = frozenset({"question", "steps", "steps_text", "step_number", "domain"})
JUDGE_FIELDS = STEP_FIELDS | {"candidate"}

_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


def _package_text(filename: str) -> str:
    return resources.files("rft.generate").joinpath(PROMPT_DIR).joinpath(filename).read_text(encoding="utf-8")


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
    def package(cls, filename: str, allowed: frozenset[str]) -> Template:
        return cls.from_text(_package_text(filename), f"rft/generate/prompts/{filename}", allowed)

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
            return _ENV.from_string(self.source).render(**values).strip()
        return self.source.format(**values).strip()


def step_values(question: str, steps: list[str], domain: str) -> dict[str, Any]:
    return {
        "question": question,
        "steps": steps,
        "steps_text": "\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1)),
        "step_number": len(steps) + 1,
        "domain": domain,
    }


DOMAINS = ("math", "code", "text")


def _domain_texts(stem: str) -> dict[str, str]:
    """`{stem}.txt` for every domain, replaced by `{stem}_{domain}.txt` where the package has one."""
    default = _package_text(f"{stem}.txt").strip()
    folder = resources.files("rft.generate").joinpath(PROMPT_DIR)
    return {
        d: folder.joinpath(f"{stem}_{d}.txt").read_text(encoding="utf-8").strip()
        if folder.joinpath(f"{stem}_{d}.txt").is_file()
        else default
        for d in DOMAINS
    }


@dataclass(frozen=True)
class PromptSet:
    """All prompts a search needs: step proposal, judge, whole-solution sample. System prompts are
    per problem domain (math, code, text: a multiple-choice question is answered with a letter)."""

    step_systems: dict[str, str]
    step: Template
    judge_system: str
    judge: Template
    sample_systems: dict[str, str]
    sample: Template
    reflect_system: str = ""
    reflect: Template | None = None

    @property
    def step_system(self) -> str:
        return self.step_systems["math"]

    @classmethod
    def load(
        cls, step_template: str | Path | None = None, judge_template: str | Path | None = None
    ) -> PromptSet:
        return cls(
            step_systems=_domain_texts("step_system"),
            step=Template.from_file(step_template, STEP_FIELDS)
            if step_template
            else Template.package("step.j2", STEP_FIELDS),
            judge_system=_package_text("judge_system.txt").strip(),
            judge=Template.from_file(judge_template, JUDGE_FIELDS)
            if judge_template
            else Template.package("judge.j2", JUDGE_FIELDS),
            sample_systems=_domain_texts("sample_system"),
            sample=Template.package("sample.j2", STEP_FIELDS),
            reflect_system=_package_text("reflect_system.txt").strip(),
            reflect=Template.package("reflect.j2", STEP_FIELDS),
        )

    def step_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        user = self.step.render(**step_values(question, steps, domain))
        system = self.step_systems.get(domain, self.step_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def judge_messages(
        self, question: str, steps: list[str], candidate: str, domain: str
    ) -> list[dict[str, str]]:
        user = self.judge.render(**step_values(question, steps, domain), candidate=candidate)
        return [{"role": "system", "content": self.judge_system}, {"role": "user", "content": user}]

    def reflect_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        """Ask the teacher to check `steps` (whose final answer failed) without the correct answer."""
        assert self.reflect is not None
        user = self.reflect.render(**step_values(question, steps, domain))
        return [{"role": "system", "content": self.reflect_system}, {"role": "user", "content": user}]

    def sample_messages(self, question: str, domain: str) -> list[dict[str, str]]:
        user = self.sample.render(**step_values(question, [], domain))
        system = self.sample_systems.get(domain, self.sample_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]
