"""Resuming a run: the config it was started with (what it produces may not change; how fast and
where it runs may), and what its earlier invocations finished and spent."""

from __future__ import annotations

from rft.errors import ConfigError
from rft.generate.config import NON_SEMANTIC, GenerateConfig
from rft.redaction import REDACTED
from rft.schemas import RecordCounts
from rft.store.run import Run

# Where the teacher and judge are served: part of the run's id (another server may serve another model
# under the same name), but `--resume RUN_ID --base-url ...` may move them (a server that moved, a
# replica added or gone).
MOVABLE = frozenset({"base_url", "judge_base_url"})


def _redacted(value: object) -> bool:
    """A saved value with a credential taken out (a URL, or one of a list of URLs)."""
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and REDACTED in v for v in values)


def resumed_config(cfg: GenerateConfig, run: Run) -> GenerateConfig:
    """The run's saved config, with what may change on resume taken from `cfg` (the options given
    now): --concurrency, --out, any other non-semantic option given (--timeout, --max-retry-wait, ...),
    the endpoints when given (MOVABLE), and the credentials, which were never saved and must be given
    again."""
    saved = run.meta.get("config")
    if not saved:
        raise ConfigError(f"--resume: run {run.id} has no saved config")
    now = cfg.flat()
    keep = {k: now[k] for k in {"concurrency", "out"} | (cfg.flags_given() & (NON_SEMANTIC | MOVABLE))}
    for key, value in saved.items():  # secrets were never saved: they must be given again
        if _redacted(value) and key not in keep:
            given = now.get(key)
            if given is None or _redacted(given):
                flag = "--" + key.replace("_", "-")
                raise ConfigError(
                    f"--resume: run {run.id} was started with a credential in {flag}, which "
                    f"is never stored; give {flag} again"
                )
            keep[key] = given
    return GenerateConfig.model_validate({**saved, **keep})


def finished_before(run: Run, done: set[str]) -> tuple[RecordCounts, float]:
    """What earlier invocations of `run` finished (`done`: their ids) and spent, counted as a stream
    (the records are not held). A failure recorded as a record by an old rft is not finished."""
    before, cost = RecordCounts(), 0.0
    for r in run.iter_records() if done else ():
        if r.outcome.error is None:
            before.add(r)
            cost += r.outcome.cost_usd or 0.0
    return before, cost
