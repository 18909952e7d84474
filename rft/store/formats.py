"""What `rft datasets export` can write: the column formats and the file types (by suffix)."""

EXPORT_FORMATS = ("messages", "prompt-completion", "stepwise")  # the columns an export writes
FILE_TYPES = {".jsonl": "jsonl", ".json": "jsonl", ".parquet": "parquet"}  # by --output suffix
LEGACY_FORMATS = ("jsonl", "parquet")  # --format as the file type: messages columns
