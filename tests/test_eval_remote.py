"""`rft eval --model openai:MODEL --base-url URL`: a remote model through the teacher layer, against a real
`transformers serve` with SmolLM2-135M on 127.0.0.1 (the `openai_server` fixture) and the real benchmark
files. Every artefact is written, a re-run generates nothing (and sends no request), the API key reaches
no file and no output; a dead server is one line and exit 2 with nothing written; a request that fails
mid-run is not recorded as a wrong answer and the same command resumes it (here against another
address: the endpoint is not part of the eval's id); adapters and local-weights options are refused."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)

from rft.eval.config import EvalConfig

FAST = ["--benchmarks", "gsm8k", "--limit", "2", "--max-new-tokens", "16", "--no-progress"]
KEY = "sk-rfttest-9f3b2c7d1e5a4b6c8d0e2f4a6b8c0d1e"
ARTEFACTS = ("results.json", "samples.jsonl", "table.md", "accuracy.png", "config.yaml", "manifest.json")


def _rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


# --- config: what goes with a remote model -------------------------------------------------------


def test_a_provider_prefix_selects_the_remote_backend_and_the_endpoint_is_not_in_the_id():
    a = EvalConfig(model="openai:Qwen/Qwen2.5-7B-Instruct", base_url="http://localhost:8000/v1")
    b = EvalConfig(
        model="openai:Qwen/Qwen2.5-7B-Instruct", base_url="http://10.0.0.2:8000/v1", concurrency=64
    )
    assert a.is_remote and not EvalConfig(model="smollm2-135m").is_remote
    assert EvalConfig(model="anthropic:claude-3-5-haiku-latest").is_remote
    assert a.remote.base_url == "http://localhost:8000/v1"
    assert a.identity(None, {}) == b.identity(None, {})  # another replica, other limits: the same eval
    assert a.identity(None, {}) != EvalConfig(model="openai:other").identity(None, {})


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "openai:m", "--adapter", "runs/a/b"], "--adapter: adapters go on local weights"),
        (["--model", "openai:m", "--adapters", "runs/a"], "--adapters: adapters go on local weights"),
        (["--model", "openai:m", "--device", "cpu"], "--device is for local weights"),
        (["--model", "openai:", "--base-url", "http://x/v1"], "name the model after the provider"),
        (["--base-url", "http://127.0.0.1:1/v1"], "--base-url is for a remote model"),
    ],
)
def test_what_does_not_go_with_a_remote_model_is_one_line_and_exit_2(capsys, tmp_path, args, needle):
    code, stdout, stderr = rft(capsys, "eval", *args, "--benchmarks", "gsm8k", "--out", str(tmp_path / "e"))
    assert code == 2, stderr
    assert needle in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "Traceback" not in stderr and not (tmp_path / "e").exists()


def test_credentials_in_the_base_url_are_refused_and_not_shown(capsys, tmp_path, bench_dir):
    code, stdout, stderr = rft(
        capsys, "eval", "--model", "openai:m", "--base-url", "http://user:hunter2pass@127.0.0.1:9/v1",
        "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"), *FAST,
    )  # fmt: skip
    assert code == 2 and "must not hold credentials" in stderr
    assert "hunter2pass" not in stdout + stderr and not (tmp_path / "e").exists()


def test_no_key_for_an_api_model_and_a_key_given_as_the_env_name_are_one_line_and_not_shown(
    capsys, tmp_path, bench_dir, monkeypatch
):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    common = ["--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"), *FAST]
    code, _, stderr = rft(capsys, "eval", "--model", "openai:gpt-4o-mini", *common)
    assert code == 2 and "no API key: set the env var OPENAI_API_KEY" in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1
    code, stdout, stderr = rft(
        capsys,
        "eval",
        "--model",
        "openai:m",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--api-key-env",
        KEY,
        *common,
    )
    assert code == 2 and "--api-key-env" in stderr and "not a key" in stderr, stderr
    assert KEY not in stdout + stderr and not (tmp_path / "e").exists()


def test_a_dead_server_is_one_line_exit_2_and_nothing_written(capsys, tmp_path, bench_dir):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, stdout, stderr = rft(
        capsys, "eval", "--model", "openai:m", "--base-url", f"http://127.0.0.1:{port}/v1",
        "--max-retries", "1", "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"), *FAST,
    )  # fmt: skip
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be used" in lines[0] and f"127.0.0.1:{port}" in lines[0], stderr
    assert "nothing was written" in lines[0] and "Traceback" not in stderr
    assert not (tmp_path / "e").exists()


# --- end to end against a real server ------------------------------------------------------------


@pytest.mark.slow
def test_remote_eval_writes_every_artefact_keeps_the_key_out_and_a_rerun_sends_nothing(
    capsys, tmp_path, bench_dir, openai_server, monkeypatch
):
    monkeypatch.setenv("RFT_TEST_EVAL_KEY", KEY)
    args = ["eval", "--model", openai_server.spec, "--base-url", openai_server.base_url,
            "--api-key-env", "RFT_TEST_EVAL_KEY", "--benchmark-dir", str(bench_dir),
            "--out", str(tmp_path / "evals"), *FAST]  # fmt: skip
    code, stdout, stderr = rft(capsys, *args)
    assert code == 0, stderr
    [folder] = list((tmp_path / "evals").iterdir())
    for name in ARTEFACTS:
        assert (folder / name).is_file(), name
    assert "2 samples generated, 0 already there" in stdout and str(folder) in stdout
    assert "not measured" in stdout  # peak memory of a remote model, not 0 or "-"

    rows = _rows(folder)
    assert len(rows) == 2 and {r["model"] for r in rows} == {"base"}
    for r in rows:
        assert r["model_identity"] == openai_server.spec and r["seed"] is None  # greedy: no seed
        assert r["prompt"][-1]["role"] == "user" and "Final answer" in r["prompt"][-1]["content"]
        assert set(r["extracted"]) == {"rft", "strict", "flexible"}
        assert 0 < r["tokens"] <= 16 and r["latency_s"] > 0  # the API's usage; the request's time
        assert r["finish_reason"] in ("stop", "length")
    assert len({r["batch"] for r in rows}) == 2  # each request its own: latency and tokens/s per request

    results = json.loads((folder / "results.json").read_text())
    base = results["models"]["base"]
    assert base["peak_memory_bytes"] is None and base["peak_memory_kind"].startswith("not measured")
    assert results["benchmarks"]["gsm8k"]["base"]["items"] == 2
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["base"]["remote"] is True and manifest["base"]["spec"] == openai_server.spec
    assert manifest["base"]["base_url"] == openai_server.base_url and manifest["base"]["served_model"]
    assert "not measured" in (folder / "table.md").read_text()
    config = (folder / "config.yaml").read_text()
    assert "api_key_env: RFT_TEST_EVAL_KEY" in config and f"base_url: {openai_server.base_url}" in config

    # a re-run resumes: nothing is generated and the server is not asked (a dead address would fail)
    dead = ["--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0"]
    code, stdout2, stderr2 = rft(capsys, *args, *dead)
    assert code == 0, stderr2
    assert "0 samples generated, 2 already there" in stdout2 and _rows(folder) == rows

    for name in ARTEFACTS[:-3] + ARTEFACTS[-2:]:
        assert KEY not in (folder / name).read_text(), name
    assert KEY not in stdout + stderr + stdout2 + stderr2


class FailingProxy:
    """An aiohttp proxy (own loop, own thread) to the real server that answers HTTP 500 to every request
    whose messages hold `needle`: an outage of some requests in the middle of a run."""

    def __init__(self, target: str, needle: str) -> None:
        self.target, self.needle, self.failed = target, needle, 0

    async def _handle(self, request):
        from aiohttp import web

        body = await request.read()
        if self.needle in body.decode("utf-8", "replace"):
            self.failed += 1
            return web.json_response({"error": {"message": "injected outage"}}, status=500)
        async with self._session.request(
            request.method, self.target + request.path_qs, data=body,
            headers={"Content-Type": request.headers.get("Content-Type", "application/json")},
        ) as up:  # fmt: skip
            return web.Response(status=up.status, body=await up.read(), content_type="application/json")

    async def _start(self) -> None:
        import aiohttp
        from aiohttp import web

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()

    async def _stop(self) -> None:
        await self._session.close()
        await self._runner.cleanup()

    def __enter__(self) -> FailingProxy:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.mark.slow
def test_a_failed_request_is_not_a_wrong_answer_and_the_same_command_resumes_it(
    capsys, tmp_path, bench_dir, openai_server
):
    from rft.problems import load_benchmark

    second = load_benchmark("gsm8k", benchmark_dir=str(bench_dir))[1]
    target = openai_server.base_url.removesuffix("/v1")
    common = ["eval", "--model", openai_server.spec, "--benchmark-dir", str(bench_dir),
              "--out", str(tmp_path / "evals"), *FAST]  # fmt: skip
    with FailingProxy(target, second.question[:40]) as proxy:
        code, stdout, stderr = rft(
            capsys, *common, "--base-url", f"http://127.0.0.1:{proxy.port}/v1", "--max-retries", "1"
        )
    assert code == 2, stderr
    assert proxy.failed == 2  # the first attempt and its one retry
    last = stderr.strip().splitlines()[-1]
    assert "a request failed" in last and "re-run the same command to resume" in last, stderr
    [folder] = list((tmp_path / "evals").iterdir())
    rows = _rows(folder)
    assert [r["item"] for r in rows] == [load_benchmark("gsm8k", benchmark_dir=str(bench_dir))[0].id]
    assert not (folder / "results.json").exists()  # no results from a run that did not finish

    # the same command, now against the server itself: only the failed sample is generated
    code, stdout, stderr = rft(capsys, *common, "--base-url", openai_server.base_url)
    assert code == 0, stderr
    assert "1 samples generated, 1 already there" in stdout
    assert {r["item"] for r in _rows(folder)} == {rows[0]["item"], second.id}
    assert (folder / "results.json").is_file()


@pytest.mark.slow
def test_several_samples_go_through_with_their_own_seeds_and_report_pass_at_k(
    capsys, tmp_path, bench_dir, openai_server
):
    from rft.eval.run import sample_seed

    code, stdout, stderr = rft(
        capsys, "eval", "--model", openai_server.spec, "--base-url", openai_server.base_url,
        "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "evals"), "--benchmarks", "gsm8k",
        "--limit", "1", "--samples", "2", "--temperature", "0.9", "--max-new-tokens", "4", "--seed", "7",
        "--no-progress",
    )  # fmt: skip
    assert code == 0, stderr
    [folder] = list((tmp_path / "evals").iterdir())
    rows = sorted(_rows(folder), key=lambda r: r["sample"])
    assert [r["sample"] for r in rows] == [0, 1]
    assert [r["seed"] for r in rows] == [sample_seed(7, "gsm8k", rows[0]["item"], i) for i in (0, 1)]
    assert all(0 < r["tokens"] <= 4 for r in rows)
    summary = json.loads((folder / "results.json").read_text())["benchmarks"]["gsm8k"]["base"]
    assert summary["samples_per_item"] == 2 and "2" in summary["extractions"]["rft"]["pass_at_k"]


@pytest.mark.slow
def test_a_response_cache_answers_what_another_eval_asked_before(capsys, tmp_path, bench_dir, openai_server):
    """`--response-cache FILE` (as lm-eval's --use_cache): a second eval with more items (another id)
    sends only the new items' requests; the cached samples keep their outputs."""
    from test_outages import ProxyThread

    cache = tmp_path / "answers.sqlite"
    common = ["eval", "--model", openai_server.spec, "--benchmark-dir", str(bench_dir), "--benchmarks", "gsm8k",
              "--max-new-tokens", "8", "--no-progress", "--response-cache", str(cache)]  # fmt: skip
    with ProxyThread(target=openai_server.base_url.removesuffix("/v1"), rate=0) as proxy:
        url = ["--base-url", proxy.base_url]
        code, _, stderr = rft(capsys, *common, *url, "--limit", "2", "--out", str(tmp_path / "a"))
        assert code == 0, stderr
        first = proxy.proxy.count("ok")
        code, stdout, stderr = rft(capsys, *common, *url, "--limit", "3", "--out", str(tmp_path / "b"))
        assert code == 0, stderr
        second = proxy.proxy.count("ok") - first
    assert first == 3 and second == 1  # preflight + 2, then only the third item (the preflight is cached)
    assert "3 samples generated" in stdout and cache.is_file()
    [a] = list((tmp_path / "a").iterdir())
    [b] = list((tmp_path / "b").iterdir())
    assert a.name != b.name
    outputs = {r["item"]: r["output"] for r in _rows(b)}
    assert all(outputs[r["item"]] == r["output"] for r in _rows(a))


def test_a_response_cache_without_a_remote_model_is_one_line_and_exit_2(capsys, tmp_path):
    code, _, stderr = rft(capsys, "eval", "--response-cache", str(tmp_path / "c.sqlite"), "--benchmarks", "gsm8k",
                          "--out", str(tmp_path / "e"))  # fmt: skip
    assert code == 2 and "--response-cache is for a remote model" in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1 and not (tmp_path / "c.sqlite").exists()
