"""rft: synthetic step-by-step reasoning traces with backtracking, for LoRA fine-tuning of small models."""

__version__ = "0.1.0"
