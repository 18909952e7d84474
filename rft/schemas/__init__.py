"""The contracts between stages (pydantic v2)."""

from rft.schemas.manifest import FileEntry, Manifest
from rft.schemas.problem import Domain, Problem, ProblemSource, normalize_question, problem_id_for
from rft.schemas.record import SCHEMA_VERSION, Message, Outcome, Record
from rft.schemas.totals import RecordCounts, add_cost, sum_cost
from rft.schemas.trace import (
    Event,
    EventType,
    Node,
    NodeKind,
    NodeStatus,
    Trace,
    TraceIntegrityError,
    Usage,
    Verdict,
    check_integrity,
)

__all__ = [
    "SCHEMA_VERSION",
    "Domain",
    "Event",
    "EventType",
    "FileEntry",
    "Manifest",
    "Message",
    "Node",
    "NodeKind",
    "NodeStatus",
    "Outcome",
    "Problem",
    "ProblemSource",
    "Record",
    "RecordCounts",
    "Trace",
    "TraceIntegrityError",
    "Usage",
    "Verdict",
    "add_cost",
    "check_integrity",
    "normalize_question",
    "problem_id_for",
    "sum_cost",
]
