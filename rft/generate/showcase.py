"""`python -m rft.generate.showcase NAME [--out DIR]`: print the id of the record that best shows
the search (solved, with the most backtracks), for `rft datasets show NAME --record ID`."""

from __future__ import annotations

import argparse
import sys

from rft.errors import RftError
from rft.store import Store


def pick(name: str, out: str = "datasets_out") -> str:
    records = Store(out).load_version(name).records
    if not records:
        raise RftError(f"{name} has no records")
    # a solved record with backtracks shows the most; then the most backtracks; then solved
    best = max(
        records,
        key=lambda r: (r.outcome.solved and r.outcome.backtracks > 0, r.outcome.backtracks, r.outcome.solved),
    )
    return best.id


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rft.generate.showcase")
    ap.add_argument("name")
    ap.add_argument("--out", default="datasets_out")
    args = ap.parse_args(argv)
    try:
        print(pick(args.name, args.out))
    except RftError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
