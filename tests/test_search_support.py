"""A scripted teacher and validator for deterministic search tests (no network, no model)."""

from __future__ import annotations

import re

from rft.schemas import Verdict
from rft.teachers.base import Completion, UsageTotals
from rft.verify.grader import check_answer
from rft.verify.steps import Judgement, StepValidator

CUT = "<cut>"
_STEP_LINE = re.compile(r"^Step \d+: (.*)$", re.MULTILINE)


class ScriptedTeacher:
    """Answers a step prompt from a script keyed by the steps so far (a tuple of step texts)."""

    spec = "scripted:test"

    def __init__(
        self,
        script: dict[tuple[str, ...], list[str]],
        samples: list[str] | None = None,
        reflections: list[str] | None = None,
    ) -> None:
        self.script = script
        self.samples = samples or []
        self.reflections = reflections or []  # answers to self-check prompts, in turn
        self.reflect_prompts: list[str] = []
        self.calls: list[tuple[tuple[str, ...], int]] = []
        self.usage = UsageTotals()

    async def chat(self, messages, n=1, temperature=0.7, max_tokens=256, stop=None, seed=None):
        user = messages[-1]["content"]
        if "name the first wrong step" in user:  # a self-check after a wrong final answer
            self.reflect_prompts.append(user)
            texts = [self.reflections.pop(0) if self.reflections else "All steps look right."]
            key = ("<reflect>",)
        elif "Write only Step" not in user:  # whole-solution sample prompt
            texts = (self.samples * n)[:n]
            key: tuple[str, ...] = ("<sample>",)
        else:
            head = user.split("Write only Step")[0]
            key = tuple(_STEP_LINE.findall(head))
            texts = self.script.get(key, [])
            texts = (texts + ["(no idea)"] * n)[:n]
        self.calls.append((key, n))
        # a text ending in CUT stands for a completion stopped by max_tokens
        out = [
            Completion(
                text=t.removesuffix(CUT),
                prompt_tokens=10,
                completion_tokens=5,
                model="scripted",
                cost_usd=0.001,
                finish_reason="length" if t.endswith(CUT) else "stop",
                truncated=t.endswith(CUT),
            )
            for t in texts
        ]
        for c in out:
            self.usage.add(c)
        return out

    async def aclose(self) -> None:
        return None


class ScriptedValidator(StepValidator):
    """Scores by step text; final answers are checked against gold like the answer validator."""

    name = "scripted"

    def __init__(self, scores: dict[str, float], critiques: dict[str, str] | None = None) -> None:
        self.scores = scores
        self.critiques = critiques or {}

    async def score(self, problem, steps, candidates, chat=None, seed=None):
        out = []
        for c in candidates:
            verdict = None
            if c.final_answer is not None:
                verdict = check_answer(c.final_answer, problem.answer)
            score = self.scores.get(c.text)
            if verdict == Verdict.correct:
                score = 1.0
            elif verdict == Verdict.incorrect:
                score = 0.0 if score is None else score
            out.append(Judgement(score, self.critiques.get(c.text), verdict, self.name))
        return out
