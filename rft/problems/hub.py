"""Rows of a Hugging Face Hub dataset through `datasets.load_dataset` (local cache or online).

Without network `datasets` retries for ~25 s before failing. So the Hub endpoint is probed first
(3 s); when it is unreachable the load runs in offline mode: a cached copy still loads, anything
else fails at once with one line.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

from rft.errors import InputError
from rft.problems.readers import RawRow
from rft.problems.spec import SourceSpec

PROBE_TIMEOUT_S = 3.0


def hub_label(spec: SourceSpec) -> str:
    config = f":{spec.config}" if spec.config else ""
    split = f"@{spec.split}" if spec.split else ""
    revision = f"#{spec.revision}" if spec.revision else ""
    return f"hf:{spec.name}{config}{split}{revision}"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 200 else first[:197] + "..."


def hub_reachable(endpoint: str, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the Hub endpoint opens within `timeout` (DNS included)."""
    url = urlparse(endpoint)
    host, port = url.hostname or "", url.port or (443 if url.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)  # getaddrinfo has no timeout of its own
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


@contextlib.contextmanager
def _offline() -> Iterator[None]:
    """Offline mode for this load only (both libraries read the flag at import time)."""
    import datasets.config
    import huggingface_hub.constants as hub_constants

    saved = hub_constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE
    hub_constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


def read_hub(spec: SourceSpec) -> Iterator[RawRow]:
    """The rows of a Hub split, one at a time; any failure (offline, unknown id, bad config) is one InputError line."""
    import datasets
    import huggingface_hub.constants as hub_constants

    label = hub_label(spec)
    why = None
    if hub_constants.HF_HUB_OFFLINE:
        why = "offline mode (HF_HUB_OFFLINE) is on"
    elif not hub_reachable(hub_constants.ENDPOINT):
        why = f"{hub_constants.ENDPOINT} is unreachable"
    offline = why is not None
    try:
        with _offline() if offline else contextlib.nullcontext():
            ds = datasets.load_dataset(spec.name, spec.config, split=spec.split, revision=spec.revision)
    except Exception as exc:  # datasets/huggingface_hub raise many types; the user needs one line
        detail = f"{type(exc).__name__}: {_reason(exc)}"
        if why:
            detail = f"{why} and it is not in the local cache ({type(exc).__name__})"
        raise InputError(
            f"{label}: cannot load from the Hugging Face Hub: {detail}; "
            "download the file and pass its local path with --preset"
        ) from None
    return (RawRow(i, f"{label} row {i}", dict(row)) for i, row in enumerate(ds))
