"""Several `--base-url`s (replicas of one model behind no load balancer): requests go to the least-loaded
endpoint, one that fails is taken out for a while and its requests are sent elsewhere at once, and a
pool that is all down fails like one dead server. The rules on a fake clock; then the real `openai`
teacher against a real `transformers serve` behind counting proxies and a dead port, for `rft eval`
and `rft generate` end to end."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from fault_proxy import FaultProxy
from test_outages import ProxyThread

from rft.generate.config import GenerateConfig
from rft.teachers import TeacherConfig, make_teacher
from rft.teachers.errors import TeacherUnavailable
from rft.teachers.pool import OUT_BASE_S, OUT_MAX_S, EndpointPool

FAST = ["--benchmarks", "gsm8k", "--limit", "4", "--max-new-tokens", "8", "--no-progress"]


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def dead_url() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/v1"


# --- the rules ------------------------------------------------------------------------------------


def test_the_least_loaded_endpoint_is_picked_and_equal_ones_take_turns():
    pool = EndpointPool(["a", "b", "c"], clock=Clock())
    a, b, c = pool.endpoints
    with pool.lease(a), pool.lease(a), pool.lease(b):
        assert pool.pick() is c  # 2, 1 and 0 in flight
        with pool.lease(c), pool.lease(c):
            assert pool.pick() is b
    assert [pool.pick().url for _ in range(6)] == ["a", "c", "b", "a", "c", "b"]
    assert [e.in_flight for e in pool.endpoints] == [0, 0, 0]
    assert [e.requests for e in pool.endpoints] == [2, 1, 2]


def test_a_failed_endpoint_is_out_for_a_while_longer_each_outage_and_back_after_a_success():
    clock = Clock()
    pool = EndpointPool(["a", "b"], clock=clock)
    a, b = pool.endpoints
    assert pool.failed(a) == OUT_BASE_S
    assert not pool.is_in_service(a) and pool.in_service() == 1
    assert [pool.pick().url for _ in range(3)] == ["b", "b", "b"]
    # the requests that were in flight when it went down fail too: one outage, one step of the backoff
    assert pool.failed(a) == OUT_BASE_S and a.failures == 2 and a.failures_in_a_row == 1
    clock.t += OUT_BASE_S
    assert pool.is_in_service(a)
    assert pool.failed(a) == 2 * OUT_BASE_S  # back, and failing again: out twice as long
    clock.t += 2 * OUT_BASE_S
    pool.succeeded(a)
    assert pool.failed(a) == OUT_BASE_S  # a success in between starts the backoff again
    for _ in range(10):
        clock.t += OUT_MAX_S
        out_s = pool.failed(a)
    assert out_s == OUT_MAX_S
    clock.t += OUT_MAX_S
    assert pool.failed(b, retry_after=90.0) == 90.0  # the server's Retry-After, when longer


def test_with_every_endpoint_out_the_one_due_back_first_is_probed_but_not_twice_by_one_request():
    clock = Clock()
    pool = EndpointPool(["a", "b"], clock=clock)
    a, b = pool.endpoints
    pool.failed(a)
    clock.t += 2
    pool.failed(b)
    assert pool.in_service() == 0
    assert pool.pick() is a  # due back 2 s before b
    assert pool.pick(exclude={"a"}) is None  # b is out: this request goes back to the engine's retries
    pool.succeeded(b)
    assert pool.pick(exclude={"a"}) is b


def test_one_url_stays_a_string_several_are_a_list_and_a_repeat_is_refused():
    one = TeacherConfig(spec="openai:m", base_url=["http://h:8000/v1"])
    assert one.base_url == "http://h:8000/v1" and one.base_urls == ["http://h:8000/v1"]
    two = TeacherConfig(spec="openai:m", base_url=["http://h:8000/v1", "http://h:8001/v1"])
    assert two.base_urls == ["http://h:8000/v1", "http://h:8001/v1"]
    assert TeacherConfig().base_urls == []
    with pytest.raises(ValueError, match="more than once"):
        TeacherConfig(spec="openai:m", base_url=["http://h:8000/v1", "http://h:8000/v1/"])
    # a run of one endpoint keeps its id whether the URL came as a flag once or as a one-item list
    flat = dict(problems="p.jsonl", teacher="openai:m", name="x")
    assert (
        GenerateConfig(**flat, base_url="http://h:8000/v1").identity(None)
        == GenerateConfig(**flat, base_url=["http://h:8000/v1"]).identity(None)
        != GenerateConfig(**flat, base_url=["http://h:8000/v1", "http://h:8001/v1"]).identity(None)
    )


def test_the_flag_is_repeatable_and_a_repeat_is_one_line_and_exit_2(capsys, tmp_path):
    url = "http://127.0.0.1:9/v1"
    code, _, stderr = rft(
        capsys, "eval", "--model", "openai:m", "--base-url", url, "--base-url", url,
        "--benchmarks", "gsm8k", "--out", str(tmp_path / "e"),
    )  # fmt: skip
    assert code == 2 and "more than once" in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "e").exists()


# --- the real teacher against a real server -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("transport", ["aiohttp", "sdk"])
def test_requests_spread_over_replicas_and_a_dead_one_is_skipped(openai_server, transport, capsys):
    target = openai_server.base_url.removesuffix("/v1")
    dead = dead_url()

    async def main():
        async with FaultProxy(target, rate=0) as a, FaultProxy(target, rate=0) as b:
            teacher = make_teacher(
                openai_server.spec,
                TeacherConfig(
                    base_url=[a.base_url, dead, b.base_url], transport=transport, concurrency=4, max_retries=0
                ),
            )
            try:
                questions = [f"What is {i} + 1? Answer with the number." for i in range(8)]
                replies = await asyncio.gather(
                    *(teacher.chat([{"role": "user", "content": q}], max_tokens=4, seed=0) for q in questions)
                )
                return a.count("ok"), b.count("ok"), replies, teacher.pool.report(), teacher.http_calls
            finally:
                await teacher.aclose()

    n_a, n_b, replies, report, calls = asyncio.run(main())
    assert all(len(r) == 1 and r[0].completion_tokens > 0 for r in replies)  # every request answered
    assert n_a + n_b == 8 and min(n_a, n_b) >= 3, (n_a, n_b)  # balanced over the two live replicas
    assert report[1]["requests"] == report[1]["failures"] >= 1  # the dead one: tried, then out
    assert calls == 8 + report[1]["failures"]  # a failover is a request of its own
    stderr = capsys.readouterr().err
    assert f"endpoint {dead} taken out for 5 s" in stderr and "(2 of 3 in service)" in stderr
    assert "requests per endpoint:" in stderr


@pytest.mark.slow
def test_a_replica_failing_mid_run_costs_no_request(openai_server):
    """One replica answers 500 to everything (a crashed vLLM behind a live port): every request still
    succeeds, at the other replica, without a retry wait; the failing one sees one request per outage."""
    target = openai_server.base_url.removesuffix("/v1")

    async def main():
        async with (
            FaultProxy(target, rate=0) as good,
            FaultProxy(target, rate=1.0, kinds=("500",)) as bad,
        ):
            teacher = make_teacher(
                openai_server.spec,
                TeacherConfig(base_url=[bad.base_url, good.base_url], concurrency=1, max_retries=0),
            )
            try:
                for i in range(4):
                    await teacher.chat([{"role": "user", "content": f"Say {i}."}], max_tokens=2, seed=0)
                return good.count("ok"), bad.count("500"), teacher.retries
            finally:
                await teacher.aclose()

    ok, failed, retries = asyncio.run(main())
    assert ok == 4 and failed == 1 and retries == 0


def test_a_pool_all_down_gives_up_like_one_dead_server():
    async def main():
        teacher = make_teacher("openai:m", TeacherConfig(base_url=[dead_url(), dead_url()], max_retries=1))
        try:
            await teacher.chat([{"role": "user", "content": "hi"}], max_tokens=2)
        finally:
            await teacher.aclose()

    with pytest.raises(TeacherUnavailable, match="gave up after 2 attempts: connection failed"):
        asyncio.run(main())


@pytest.mark.slow
def test_eval_over_two_endpoints_one_dead_finishes_and_records_both(
    capsys, tmp_path, bench_dir, openai_server
):
    dead = dead_url()
    with ProxyThread(target=openai_server.base_url.removesuffix("/v1"), rate=0) as live:
        code, stdout, stderr = rft(
            capsys, "eval", "--model", openai_server.spec, "--base-url", dead, "--base-url", live.base_url,
            "--max-retries", "0", "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"), *FAST,
        )  # fmt: skip
        served = live.proxy.count("ok")
    assert code == 0, stderr
    assert "4 samples generated" in stdout
    assert served == 5  # the preflight and the 4 samples; the dead one was taken out before work began
    assert f"endpoint {dead} taken out" in stderr and f"{dead} 1 (1 failed)" in stderr
    [folder] = list((tmp_path / "e").iterdir())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["base"]["base_url"] == [dead, live.base_url]


def test_eval_with_every_endpoint_dead_is_one_line_exit_2_and_nothing_written(capsys, tmp_path, bench_dir):
    a, b = dead_url(), dead_url()
    code, _, stderr = rft(
        capsys, "eval", "--model", "openai:m", "--base-url", a, "--base-url", b, "--max-retries", "0",
        "--benchmark-dir", str(bench_dir), "--out", str(tmp_path / "e"), *FAST,
    )  # fmt: skip
    assert code == 2, stderr
    last = stderr.strip().splitlines()[-1]
    assert "cannot be used" in last and "nothing was written" in last and "Traceback" not in stderr
    assert not (tmp_path / "e").exists()


@pytest.mark.slow
def test_generate_over_two_endpoints_one_dead_seals_and_keeps_both_in_its_config(
    tmp_path, capsys, openai_server
):
    problems = tmp_path / "p.jsonl"
    problems.write_text(
        "".join(
            json.dumps({"id": f"q{i}", "question": f"What is {i} + 2?", "answer": str(i + 2)}) + "\n"
            for i in range(3)
        )
    )
    dead = dead_url()
    with ProxyThread(target=openai_server.base_url.removesuffix("/v1"), rate=0) as live:
        code, stdout, stderr = rft(
            capsys, "generate", "--problems", str(problems), "--teacher", openai_server.spec,
            "--base-url", live.base_url, "--base-url", dead, "--validator", "answer", "--branches", "1",
            "--max-depth", "2", "--max-tokens-per-step", "8", "--max-retries", "0", "--name", "pool",
            "--out", str(tmp_path / "o"), "--no-progress",
        )  # fmt: skip
    assert code == 0, stderr
    assert "pool/v1" in stdout and f"endpoint {dead} taken out" in stderr
    [manifest] = (tmp_path / "o").rglob("manifest.json")
    assert json.loads(manifest.read_text())["config"]["base_url"] == [live.base_url, dead]


@pytest.mark.slow
def test_ping_asks_every_endpoint_and_says_which_answered(capsys, openai_server):
    dead = dead_url()
    code, stdout, stderr = rft(
        capsys, "teacher", "ping", openai_server.spec, "--base-url", dead,
        "--base-url", openai_server.base_url, "--retries", "0",
    )  # fmt: skip
    assert code == 0, stderr
    line = next(x for x in stdout.splitlines() if x.startswith("endpoints"))
    assert line.split(None, 1)[1] == f"1 of 2 answered: {dead} failed, {openai_server.base_url} ok"
    assert "reply" in stdout


def test_endpoints_that_serve_different_models_are_refused_before_work_starts():
    """The pool's endpoints must be replicas of one model: answers of another would mix into the data.
    Two small OpenAI-shaped servers that name different models in their answers."""
    from aiohttp import web

    from rft.errors import TeacherError
    from rft.teachers.ping import preflight

    def app(model: str) -> web.Application:
        async def chat(request: web.Request) -> web.Response:
            return web.json_response(
                {"model": model, "choices": [{"index": 0, "message": {"content": "OK"}, "finish_reason": "stop"}],
                 "usage": {"prompt_tokens": 3, "completion_tokens": 1}}
            )  # fmt: skip

        a = web.Application()
        a.router.add_post("/v1/chat/completions", chat)
        return a

    async def main(models: tuple[str, str]) -> None:
        runners, urls = [], []
        for model in models:
            runner = web.AppRunner(app(model), access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            runners.append(runner)
            urls.append(f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1")
        teacher = make_teacher("openai:m", TeacherConfig(base_url=urls, max_retries=0))
        try:
            await preflight(teacher)
        finally:
            await teacher.aclose()
            for r in runners:
                await r.cleanup()

    asyncio.run(main(("qwen-7b", "qwen-7b")))  # replicas: fine
    with pytest.raises(
        TeacherError, match=r"serve different models \(.* serves 'qwen-7b', .* serves 'llama-8b'\)"
    ):
        asyncio.run(main(("qwen-7b", "llama-8b")))
