"""The problem sources a dataset was made from, and their licenses where rft knows them.

A source is a Hub dataset id (a Hub source, or the known benchmark a file is), rft's built-in
generator, or a local file (license unknown). The licenses are those the benchmarks' Hub dataset cards
declare; a source not listed here has an unknown license, and `rft publish` then needs `--license`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rft import benchmarks
from rft.errors import ConfigError
from rft.schemas import Record

# Hub license ids of the registry's benchmarks (rft.benchmarks), from each dataset's card on the Hub
LICENSES = {
    "gsm8k": "mit",
    "math500": "mit",
    "math": "mit",
    "humaneval": "mit",
    "mbpp": "cc-by-4.0",
    "arc": "cc-by-sa-4.0",
}
BUILTIN_LICENSE = "apache-2.0"  # rft's own generators: the problems are rft's (pyproject's license)


@dataclass(frozen=True)
class Source:
    name: str  # a Hub id, `rft builtin:<generator>` or `file <name>`
    hub_id: str | None  # the Hub dataset it is (the card's `source_datasets`)
    license: str | None  # None: unknown


def _source(kind: str, name: str, benchmark: str | None) -> Source:
    spec = benchmarks.REGISTRY.get(benchmark) if benchmark else None
    if spec is None and kind == "hub":
        spec = benchmarks.of_hub_id(name)
    if spec is not None:
        return Source(spec.hub_id, spec.hub_id, LICENSES.get(spec.name))
    if kind == "hub":
        return Source(name, name, None)
    if kind == "builtin":
        return Source(f"rft builtin:{name}", None, BUILTIN_LICENSE)
    return Source(f"{kind} {name}", None, None)


def sources_of(records: Iterable[Record]) -> list[Source]:
    """The distinct problem sources of `records`, in the order first seen."""
    seen: dict[tuple[str, str, str | None], Source] = {}
    for r in records:
        s = r.problem.source
        key = (s.kind, s.name, s.benchmark) if s is not None else ("unknown", "unknown", None)
        if key not in seen:
            seen[key] = _source(*key) if s is not None else Source("unknown source", None, None)
    out: dict[str, Source] = {}
    for src in seen.values():
        out.setdefault(src.name, src)
    return list(out.values())


def resolve_license(sources: list[Source], given: str | None, *, required: bool = True) -> str:
    """The dataset's license: `given` (--license), else the one license all sources share. With
    `required`, a source of unknown license (or sources of different licenses) without --license is a
    ConfigError naming them; without it, "unknown"."""
    if given:
        return given
    unknown = [s.name for s in sources if s.license is None]
    licenses = sorted({s.license for s in sources if s.license})
    if not unknown and len(licenses) == 1:
        return licenses[0]
    if not required:
        return "unknown"
    if unknown:
        raise ConfigError(
            f"--license is required: the license of the problem source{'s' * (len(unknown) > 1)} "
            f"{', '.join(unknown[:3])}{' ...' if len(unknown) > 3 else ''} is unknown to rft"
        )
    raise ConfigError(
        f"--license is required: the problem sources have different licenses ({', '.join(licenses)})"
    )
