"""Resuming a run: the config it was started with (what it produces may not change; how fast and
where it runs may), and what its earlier invocations finished and spent."""

from __future__ import annotations

from rft.errors import ConfigError
from rft.generate.config import NON_SEMANTIC, GenerateConfig
from rft.redaction import REDACTED
from rft.schemas import RecordCounts
from rft.store.run import Run


def resumed_config(cfg: GenerateConfig, run: Run) -> GenerateConfig:
    """The run's saved config, with what may change on resume taken from `cfg` (the options given
    now): --concurrency, --out, any other non-semantic option given (--timeout, --max-retry-wait, ...),
    and the credentials, which were never saved and must be given again."""
    saved = run.meta.get("config")
    if not saved:
        raise ConfigError(f"--resume: run {run.id} has no saved config")
    now = cfg.flat()
    keep = {k: now[k] for k in {"concurrency", "out"} | (cfg.flags_given() & NON_SEMANTIC)}
    for key, value in saved.items():  # secrets were never saved: they must be given again
        if isinstance(value, str) and REDACTED in value:
            given = now.get(key)
            if not isinstance(given, str) or REDACTED in given:
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
