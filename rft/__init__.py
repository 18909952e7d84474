"""rft: synthetic step-by-step reasoning traces with backtracking, for LoRA fine-tuning of small models."""

import os

# Idle OpenMP threads spin for ~200 ms by default; on small CPU boxes that starves the event loop
# and the HTTP client. Set before torch is first imported; users can still override it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
