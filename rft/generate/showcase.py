"""`python -m rft.generate.showcase NAME [--out DIR]`: print the id of the record that best shows
the search (trainable, with the most backtracks its render tells), for `rft datasets show NAME --record ID`."""

from __future__ import annotations

import argparse
import sys

from rft.errors import RftError
from rft.store import Store


def pick(name: str, out: str = "datasets_out") -> str:
    records = Store(out).load_version(name).records
    if not records:
        raise RftError(f"{name} has no records")
    from rft.generate.render import backtrack_parts

    def shown(r) -> int:  # backtracks its `backtrack` render tells, each naming the wrong step
        return sum(p.kind == "back" for p in backtrack_parts(r))

    # a trainable record whose render tells backtracks shows the most; then any such; then solved
    best = max(records, key=lambda r: (r.outcome.trainable, shown(r), r.outcome.backtracks, r.outcome.solved))
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
