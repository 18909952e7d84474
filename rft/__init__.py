"""rft: synthetic step-by-step reasoning traces with backtracking, for LoRA fine-tuning of small models."""

import sys

from rft import openmp

# OpenMP's wait policy by command, before torch is first imported (rft/openmp.py); a user's own wins.
openmp.configure(openmp.command_of(sys.argv))

__version__ = "0.1.0"
