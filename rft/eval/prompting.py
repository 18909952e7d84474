"""How `rft eval` asks a model a benchmark item: chat messages, put through the model's chat template.

- Math and multiple choice: 0-shot chain of thought by default: the question, then an instruction to
  reason step by step and end with a `Final answer: ...` line (what `rft.verify.extract`'s `rft`
  reading looks for first).
- Code: HumanEval's prompt (a signature and a docstring) as a completion instruction: complete the
  function, answer with the whole function in a ```python block; MBPP's text with its first test
  shown (the function name the tests call). `rft.verify.code.extract_code` reads the code back.
- `--shots N`: N worked examples as earlier user/assistant turns, drawn (seeded) from the benchmark's
  train split file (`<benchmark dir>/<folder>/train.jsonl`), never its test split. GSM8K's train
  solutions lose their calculator annotations and end with `Final answer: N`. A benchmark without a
  train file there is asked 0-shot, said in one line (`Prompter.notes`).
- `--system`: the base model's system message.
- A model trained by `rft train` is asked in the format it was trained on (`format_of_adapter`): its
  manifest's config gives the system message it was trained with and the user turn is the bare
  question, as in its training data (`rft.generate.render`); no instruction is added. A manifest
  without those keys gets these defaults (no system message), said in a note.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rft import benchmarks
from rft.eval.bleu import clean_gsm8k_solution
from rft.schemas import Problem

COT = "Solve the problem step by step. End with a line of the form `Final answer: <answer>`."
CHOICE = "Think step by step, then end with a line of the form `Final answer: <letter>`."
HUMANEVAL = (
    "Complete the following Python function. Answer with the whole function, its signature and "
    "imports included, in one ```python code block.\n\n```python\n{prompt}```"
)
MBPP = "{question}\nYour code should pass this test:\n\n```python\n{test}\n```\n\nAnswer with the code in one ```python code block."


@dataclass(frozen=True)
class PromptFormat:
    """How a model is asked: its system message, whether the benchmark's instruction is added to the
    question (False: the bare question, as `rft train` trained it), and where the format came from."""

    system: str | None = None
    instruct: bool = True
    source: str = "eval default"

    def as_dict(self) -> dict[str, Any]:
        return {"system": self.system, "instruct": self.instruct, "source": self.source}


def format_of_adapter(manifest: dict[str, Any]) -> tuple[PromptFormat, list[str]]:
    """The format an adapter was trained on, from its manifest (`config`: `system`, `render`), and
    what was missing from it: a manifest without them (another trainer's, an older one) gets the
    defaults, no system message and the bare question, each said in a note."""
    notes: list[str] = []
    config = manifest.get("config")
    if not isinstance(config, dict):
        notes.append("its manifest has no config: asked with no system message and the bare question")
        config = {}
    elif "system" not in config:
        notes.append("its manifest's config names no system message: asked with none")
    system = config.get("system")
    prompt = manifest.get("prompt")
    if isinstance(prompt, dict) and "system" in prompt:  # what the training prompts really held
        system = prompt["system"]
    if system is not None and not isinstance(system, str):
        notes.append(f"its manifest's config.system is not text ({type(system).__name__}): asked with none")
        system = None
    render = config.get("render") or "stored messages"
    fmt = PromptFormat(system=system or None, instruct=False, source=f"adapter manifest (render: {render})")
    return fmt, notes


def user_turn(benchmark: str, problem: Problem, instruct: bool) -> str:
    """The user message of an item."""
    spec = benchmarks.get(benchmark)
    if spec.domain == "code":
        if benchmark == "humaneval" or (problem.entry_point and "def check(" in "".join(problem.tests)):
            return HUMANEVAL.format(prompt=problem.question) if instruct else problem.question
        test = problem.tests[0] if problem.tests else ""
        return MBPP.format(question=problem.question, test=test) if instruct else problem.question
    if not instruct:
        return problem.question
    return f"{problem.question}\n\n{CHOICE if spec.domain == 'text' else COT}"


def exemplar_answer(benchmark: str, problem: Problem) -> str | None:
    """A train item's worked answer as an exemplar shows it, or None when it has no solution."""
    if not problem.solution:
        return None
    if benchmark == "gsm8k":
        return f"{clean_gsm8k_solution(problem.solution)}\nFinal answer: {problem.answer}"
    if benchmarks.get(benchmark).domain == "code":
        return f"```python\n{problem.solution.strip()}\n```"
    return f"{problem.solution.strip()}\nFinal answer: {problem.answer}"


def train_file(
    benchmark: str, benchmark_dir: str | Path | None, test_file: Path | None = None
) -> Path | None:
    """The benchmark's train split file beside its test file (`test_file`, from --benchmark-path), else
    in a folder laid out like ../shared/benchmarks, if there."""
    if test_file is not None:
        folder = test_file.parent
    elif benchmark_dir is not None:
        folder = (Path(benchmark_dir) / benchmarks.get(benchmark).local_file).parent
    else:
        return None
    path = folder / "train.jsonl"
    return path if path.is_file() and path.resolve() != (test_file or Path()).resolve() else None


@dataclass
class Prompter:
    """Builds every item's messages for every model of one eval (see the module doc)."""

    shots: int
    system: str | None
    benchmark_dir: str | None
    seed: int
    test_files: dict[str, Path] = field(default_factory=dict)  # benchmark -> its --benchmark-path file
    notes: list[str] = field(default_factory=list)
    _exemplars: dict[str, list[tuple[Problem, str]]] = field(default_factory=dict)
    exemplar_files: dict[str, str] = field(default_factory=dict)

    def base_format(self) -> PromptFormat:
        return PromptFormat(system=self.system, instruct=True, source="eval default (--system)")

    def exemplars(self, benchmark: str) -> list[tuple[Problem, str]]:
        """The (train item, worked answer) exemplars of a benchmark: the same for every item and model."""
        if self.shots == 0:
            return []
        if benchmark in self._exemplars:
            return self._exemplars[benchmark]
        spec = benchmarks.get(benchmark)
        path = train_file(benchmark, self.benchmark_dir, self.test_files.get(benchmark))
        chosen: list[tuple[Problem, str]] = []
        if path is None:
            if benchmark in self.test_files:
                where = f"beside {self.test_files[benchmark]}"
            elif self.benchmark_dir:
                where = f"under {self.benchmark_dir}"
            else:
                where = "locally (give --benchmark-dir)"
            why = (
                f"no train file of its {spec.train_split} split is available {where}"
                if spec.train_split
                else "it has no train split"
            )
            self.notes.append(
                f"{benchmark}: --shots {self.shots} takes exemplars from the train split and {why}: asked 0-shot"
            )
        else:
            from rft.problems.loader import load_problems

            pool = [p for p in load_problems(str(path), preset=spec.preset) if p.solution]
            rng = random.Random(f"{self.seed}:{benchmark}")
            for p in rng.sample(pool, min(self.shots, len(pool))):
                answer = exemplar_answer(benchmark, p)
                if answer:
                    chosen.append((p, answer))
            self.exemplar_files[benchmark] = str(path)
        self._exemplars[benchmark] = chosen
        return chosen

    def messages(self, benchmark: str, problem: Problem, fmt: PromptFormat) -> list[dict[str, str]]:
        out: list[dict[str, str]] = []
        if fmt.system:
            out.append({"role": "system", "content": fmt.system})
        for example, answer in self.exemplars(benchmark):
            out.append({"role": "user", "content": user_turn(benchmark, example, fmt.instruct)})
            out.append({"role": "assistant", "content": answer})
        out.append({"role": "user", "content": user_turn(benchmark, problem, fmt.instruct)})
        return out
