"""Teachers: one async protocol over OpenAI-compatible servers, Anthropic and in-process models,
with the shared machinery (concurrency, rate limits, retries, response cache, usage and cost)."""

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
