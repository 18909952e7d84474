"""Teacher prompts (step proposal, whole-solution sample, self-check): package defaults in
`rft/generate/prompts/`, the step template replaceable by a user file (see `rft.templates`). The
judge's prompt lives with the judge, in `rft.verify.steps`.
"""

from __future__ import annotations

from dataclasses import dataclass
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
        )

    def step_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        user = self.step.render(**step_values(question, steps, domain))
        system = self.step_systems.get(domain, self.step_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def reflect_messages(self, question: str, steps: list[str], domain: str) -> list[dict[str, str]]:
        """Ask the teacher to check `steps` (whose final answer failed) without the correct answer."""
        assert self.reflect is not None
        user = self.reflect.render(**step_values(question, steps, domain))
        return [{"role": "system", "content": self.reflect_system}, {"role": "user", "content": user}]

    def sample_messages(self, question: str, domain: str) -> list[dict[str, str]]:
        user = self.sample.render(**step_values(question, [], domain))
        system = self.sample_systems.get(domain, self.sample_systems["math"])
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]
