"""Teacher prompts (step proposal, whole-solution sample, self-check): package defaults in
`rft/generate/prompts/`, the step template replaceable by a user file (see `rft.templates`). The
judge's prompt lives with the judge, in `rft.verify.steps`.

A domain may have its own system texts (`step_system_code.txt`) and templates (`step_code.j2`,
`sample_code.j2`, `reflect_code.j2`); the others use the default. The code domain's steps reason
in prose and the final step is the complete program in a ```python block (`rft.generate.parsing`).
A user's `--prompt-template` replaces the step template of every domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rft.templates import STEP_FIELDS, Template, package_text, prompt_folder, step_values

_PACKAGE = "rft.generate"
DOMAINS = ("math", "code", "text")


def _domain_texts(stem: str) -> dict[str, str]:
    """`{stem}.txt` for every domain, replaced by `{stem}_{domain}.txt` where the package has one."""
    default = package_text(_PACKAGE, f"{stem}.txt").strip()
    folder = prompt_folder(_PACKAGE)
    return {
        d: folder.joinpath(f"{stem}_{d}.txt").read_text(encoding="utf-8").strip()
        if folder.joinpath(f"{stem}_{d}.txt").is_file()
        else default
        for d in DOMAINS
    }


def _domain_templates(stem: str) -> dict[str, Template]:
    """`{stem}_{domain}.j2` for the domains the package has one for."""
    folder = prompt_folder(_PACKAGE)
    return {
        d: Template.package(_PACKAGE, f"{stem}_{d}.j2", STEP_FIELDS)
        for d in DOMAINS
        if folder.joinpath(f"{stem}_{d}.j2").is_file()
    }


@dataclass(frozen=True)
class PromptSet:
    """The prompts a search sends its teacher: step proposal, whole-solution sample, self-check. System
    prompts are per problem domain (math, code, text: a multiple-choice question is answered with a letter)."""

    step_systems: dict[str, str]
    step: Template
    sample_systems: dict[str, str]
    sample: Template
    reflect_system: str = ""
    reflect: Template | None = None
    domain_templates: dict[str, dict[str, Template]] = field(default_factory=dict)  # kind -> domain ->
    reflect_systems: dict[str, str] = field(default_factory=dict)

    def _template(self, kind: str, domain: str, default: Template) -> Template:
        return self.domain_templates.get(kind, {}).get(domain, default)

    @property
    def step_system(self) -> str:
        return self.step_systems["math"]

    @classmethod
    def load(cls, step_template: str | Path | None = None) -> PromptSet:
        return cls(
            step_systems=_domain_texts("step_system"),
            step=Template.from_file(step_template, STEP_FIELDS)
            if step_template
            else Template.package(_PACKAGE, "step.j2", STEP_FIELDS),
            sample_systems=_domain_texts("sample_system"),
            sample=Template.package(_PACKAGE, "sample.j2", STEP_FIELDS),
            reflect_system=package_text(_PACKAGE, "reflect_system.txt").strip(),
            reflect=Template.package(_PACKAGE, "reflect.j2", STEP_FIELDS),
            domain_templates={
                "step": {} if step_template else _domain_templates("step"),
                "sample": _domain_templates("sample"),
                "reflect": _domain_templates("reflect"),
            },
            reflect_systems=_domain_texts("reflect_system"),
        )

    def step_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        user = self._template("step", domain, self.step).render(**step_values(question, steps, domain))
        system = self.step_systems.get(domain, self.step_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def reflect_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        """Ask the teacher to check `steps` (whose final answer failed) without the correct answer."""
        assert self.reflect is not None
        user = self._template("reflect", domain, self.reflect).render(**step_values(question, steps, domain))
        system = self.reflect_systems.get(domain, self.reflect_system)
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def sample_messages(self, question: str, domain: str) -> list[dict[str, str]]:
        user = self._template("sample", domain, self.sample).render(**step_values(question, [], domain))
        system = self.sample_systems.get(domain, self.sample_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]
