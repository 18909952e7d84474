"""Shared fixtures. Real benchmark files live in ../shared/benchmarks (read-only, never copied)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCHMARKS = (ROOT.parent / "shared" / "benchmarks").resolve()

# Nothing may be downloaded at test time: fail fast instead of hanging on the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP threads that spin while waiting steal the cores from the thread doing the work when other jobs
# share the machine: SmolLM2 generate took 12 s instead of 1.6 s here. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    """The real benchmark files (see ../shared/benchmarks/SOURCES.md)."""
    if not SHARED_BENCHMARKS.is_dir():
        pytest.fail(f"real benchmark files not found at {SHARED_BENCHMARKS}")
    return SHARED_BENCHMARKS


# --- teachers: a real OpenAI-compatible server (`transformers serve`) with SmolLM2-135M ------------


class OpenAIServer:
    """A running `transformers serve` on 127.0.0.1: pass `openai:{model}` with `--base-url {base_url}`."""

    def __init__(self, proc, port: int, model: str, log_path: Path):
        self.proc = proc
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.model = model
        self.spec = f"openai:{model}"
        self.log_path = log_path


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies without cleaning up (Linux; no-op elsewhere)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _start_transformers_serve(model_dir: Path, log_path: Path, timeout_s: float = 240.0) -> OpenAIServer:
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "TOKENIZERS_PARALLELISM": "false",
        # One intra-op thread: on 2 shared cores, 2 OpenMP threads spin against the test process and
        # other jobs; measured here, a 1-token request took 4 s with 2 threads and 0.18 s with 1.
        "OMP_NUM_THREADS": os.environ.get("RFT_SERVE_THREADS", "1"),
    }
    cmd = [
        sys.executable, "-m", "transformers.cli.transformers", "serve", str(model_dir),
        "--host", "127.0.0.1", "--port", str(port), "--device", "cpu", "--dtype", "float32",
        "--log-level", "warning",
    ]  # fmt: skip
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        cmd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    server = OpenAIServer(proc, port, str(model_dir), log_path)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"transformers serve exited with {proc.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        return server
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"transformers serve not healthy after {timeout_s:.0f}s (log: {log_path})")
            time.sleep(0.25)
    except BaseException:
        _stop_server(server)
        raise
    finally:
        log.close()


def _stop_server(server: OpenAIServer) -> None:
    import subprocess

    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The converted SmolLM2-135M-Instruct transformers folder (converted once from the installed GGUF)."""
    from rft.teachers.local import resolve_local_model

    return resolve_local_model("smollm2-135m")


@pytest.fixture(scope="session")
def openai_server(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """`transformers serve` with SmolLM2-135M on 127.0.0.1:<free port>; stopped after the session.

    Use: make_teacher(openai_server.spec, TeacherConfig(base_url=openai_server.base_url))."""
    log_dir = tmp_path_factory.mktemp("transformers-serve")
    try:
        server = _start_transformers_serve(smollm2_dir, log_dir / "serve.log")
    except RuntimeError:  # e.g. the free port was taken in between: one more try on a new port
        server = _start_transformers_serve(smollm2_dir, log_dir / "serve-retry.log")
    try:
        yield server
    finally:
        _stop_server(server)
