"""Teachers: one async protocol over OpenAI-compatible servers, Anthropic and in-process models,
with the shared machinery (concurrency, rate limits, retries, response cache, usage and cost)."""

import os

# Idle OpenMP threads sleep instead of spinning. With spinning (the default), torch on a CPU that other
# jobs share slows down ~8x (SmolLM2 generate: 12 s instead of 1.6 s on 2 busy cores). It only takes
# effect if set before torch is imported; a user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from rft.teachers.base import Completion, Teacher, UsageTotals
from rft.teachers.config import TeacherConfig
from rft.teachers.factory import make_teacher, parse_spec
from rft.teachers.prices import Price, price_for, price_of

__all__ = [
    "Completion",
    "Price",
    "Teacher",
    "TeacherConfig",
    "UsageTotals",
    "make_teacher",
    "parse_spec",
    "price_for",
    "price_of",
]
