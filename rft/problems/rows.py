"""A view of one raw row through a field mapping (Problem field -> source column)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rft.errors import InputError
from rft.problems.readers import RawRow

PROBLEM_FIELDS = ("id", "question", "answer", "solution", "tests", "entry_point", "domain")


class RowView:
    """Field access for one row. User-mapped fields are required; preset defaults may try several columns."""

    def __init__(self, raw: RawRow, user_fields: dict[str, str], defaults: dict[str, Sequence[str]]):
        self.raw = raw
        self.user_fields = user_fields
        self.defaults = defaults

    @property
    def location(self) -> str:
        return self.raw.location

    def fail(self, message: str) -> InputError:
        return InputError(f"{self.raw.location}: {message}")

    def _column(self, field: str) -> str | None:
        if field in self.user_fields:
            return self.user_fields[field]
        for col in self.defaults.get(field, (field,)):
            if self.raw.data.get(col) is not None:
                return col
        return None

    def column_name(self, field: str) -> str:
        if field in self.user_fields:
            return self.user_fields[field]
        return self.defaults.get(field, (field,))[0]

    def get(self, field: str, *, required: bool = False) -> Any:
        """The value for a Problem field; a missing user-mapped or required field raises InputError."""
        col = self._column(field)
        value = self.raw.data.get(col) if col is not None else None
        if value is None and (required or field in self.user_fields):
            candidates = [col] if col is not None else list(self.defaults.get(field, (field,)))
            null = next((c for c in candidates if c in self.raw.data), None)
            if null is not None:  # present, but JSON null (or a Parquet null): not "missing"
                raise self.fail(f"field {null!r} (for {field}) is null")
            wanted = col or self.column_name(field)
            available = ", ".join(sorted(self.raw.data)) or "(none)"
            hint = "" if field in self.user_fields else f"; map another column with --field {field}=COLUMN"
            raise self.fail(f"missing field {wanted!r} (for {field}); row has: {available}{hint}")
        return value

    def text(self, field: str, *, required: bool = False) -> str | None:
        value = self.get(field, required=required)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def text_list(self, field: str, *, required: bool = False) -> list[str]:
        value = self.get(field, required=required)
        if value is None:
            return []
        if isinstance(value, str):
            stripped = value.strip()
            if stripped.startswith("["):  # a list serialised into a CSV cell
                try:
                    value = json.loads(stripped)
                except json.JSONDecodeError:
                    return [value]
            else:
                return [value] if stripped else []
        if not isinstance(value, list | tuple):
            raise self.fail(f"field {self.column_name(field)!r} (for {field}) must be a string or a list")
        return [str(v) for v in value]
