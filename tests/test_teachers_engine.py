"""The shared machinery with an in-memory provider (no network): fan-out, cache keys, retries,
concurrency, rate limits, prices, spec parsing."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

import pytest

from rft.errors import ConfigError, TeacherError
from rft.teachers import TeacherConfig, make_teacher, parse_spec, price_for
from rft.teachers.base import ChatRequest, Completion, Teacher
from rft.teachers.cache import ResponseCache, cache_key
from rft.teachers.engine import ManagedTeacher
from rft.teachers.errors import TransientError, retry_after_from_headers
from rft.teachers.prices import price_of
from rft.teachers.ratelimit import RateLimiter

MSG = [{"role": "user", "content": "hello"}]


class FakeTeacher(ManagedTeacher):
    """Answers `<prompt>#<call number>`; can return fewer choices than asked and fail on schedule."""

    provider = "openai"

    def __init__(
        self, options: TeacherConfig | None = None, *, max_choices: int = 99, failures=(), model="gpt-4o"
    ):
        super().__init__(f"openai:{model}", model, options or TeacherConfig(), base_url="http://fake/v1")
        self.max_choices = max_choices
        self.failures = list(failures)
        self.requests: list[dict] = []
        self.in_flight = 0
        self.peak = 0

    async def _call(self, request):
        messages, n, max_tokens = request.messages, request.n, request.max_tokens
        self.requests.append({"n": n, "seed": request.seed, "t": time.monotonic()})
        number = len(self.requests)
        if self.failures:
            exc = self.failures.pop(0)
            if exc is not None:
                raise exc
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        k = min(n, self.max_choices)
        return [
            Completion(
                text=f"{messages[-1]['content']}#{number}.{i}",
                finish_reason="length" if max_tokens < 3 else "stop",
                prompt_tokens=10 if i == 0 else 0,
                completion_tokens=5,
            )
            for i in range(k)
        ]


def test_protocol_and_usage_and_cost():
    t = FakeTeacher()
    assert isinstance(t, Teacher)
    comps = asyncio.run(t.chat(MSG, n=3, max_tokens=10))
    assert len(comps) == 3 and len(t.requests) == 1 and t.supports_n
    # gpt-4o: $2.50 / 1M in, $10 / 1M out
    assert comps[0].cost_usd == pytest.approx((10 * 2.5 + 5 * 10) / 1e6)
    assert t.usage.calls == 3 and t.usage.prompt_tokens == 10 and t.usage.completion_tokens == 15
    assert t.usage.cost_usd == pytest.approx((10 * 2.5 + 15 * 10) / 1e6)


def test_fan_out_when_server_returns_fewer_choices():
    t = FakeTeacher(max_choices=1)
    comps = asyncio.run(t.chat(MSG, n=4, seed=7))
    assert len(comps) == 4 and len({c.text for c in comps}) == 4
    assert t.supports_n is False
    # first request asked for 4, got 1; the 3 missing samples went out separately with distinct seeds
    assert [r["n"] for r in t.requests] == [4, 1, 1, 1]
    assert sorted(r["seed"] for r in t.requests[1:]) == [8, 9, 10]
    comps = asyncio.run(t.chat(MSG, n=2))  # remembered: no more n-requests
    assert [r["n"] for r in t.requests[4:]] == [1, 1]


def test_truncated_and_unknown_price():
    t = FakeTeacher(model="my-finetune")
    (c,) = asyncio.run(t.chat(MSG, max_tokens=2))
    assert c.finish_reason == "length" and c.truncated
    assert c.cost_usd is None and t.usage.cost_usd is None  # unknown, not 0


def test_retries_transient_then_succeeds_and_honours_retry_after():
    t = FakeTeacher(
        TeacherConfig(max_retries=3),
        failures=[
            TransientError("HTTP 429", status=429, retry_after=0.3),
            TransientError("HTTP 500", status=500),
        ],
    )
    t0 = time.monotonic()
    (c,) = asyncio.run(t.chat(MSG))
    assert c.text.startswith("hello#3")
    assert t.retries == 2 and t.http_calls == 3
    assert t.requests[1]["t"] - t.requests[0]["t"] >= 0.3  # never earlier than Retry-After
    assert time.monotonic() - t0 < 5


def test_gives_up_after_max_retries_with_one_line():
    t = FakeTeacher(
        TeacherConfig(max_retries=2), failures=[TransientError("HTTP 503 server error: busy")] * 5
    )
    t.__class__._wait = staticmethod(lambda state: 0.0)  # type: ignore[method-assign]
    try:
        with pytest.raises(TeacherError, match=r"gave up after 3 attempts: HTTP 503"):
            asyncio.run(t.chat(MSG))
    finally:
        del FakeTeacher._wait
    assert t.http_calls == 3


def test_fatal_error_is_not_retried():
    t = FakeTeacher(failures=[TeacherError("openai:gpt-4o: request refused (HTTP 400): bad")])
    with pytest.raises(TeacherError, match="HTTP 400"):
        asyncio.run(t.chat(MSG))
    assert t.http_calls == 1 and t.retries == 0


def test_concurrency_limit():
    t = FakeTeacher(TeacherConfig(concurrency=3))

    async def main():
        await asyncio.gather(*(t.chat([{"role": "user", "content": str(i)}]) for i in range(20)))

    asyncio.run(main())
    assert t.peak == 3


def test_cache_keys_and_reuse(tmp_path):
    base = dict(provider="openai", base_url="http://x/v1", model="m")
    p = ChatRequest(MSG, temperature=0.7, max_tokens=8, stop=None, seed=None)
    k = cache_key(**base, request=p, sample_index=0)
    assert k == cache_key(**{**base, "base_url": "http://x/v1/"}, request=p, sample_index=0)
    assert k != cache_key(**base, request=p, sample_index=1)
    assert k != cache_key(**base, request=replace(p, temperature=0.8), sample_index=0)
    assert k != cache_key(**{**base, "model": "m2"}, request=p, sample_index=0)
    assert k != cache_key(**{**base, "base_url": "http://y/v1"}, request=p, sample_index=0)

    path = tmp_path / "c.sqlite"
    t1 = FakeTeacher(TeacherConfig(cache_path=path), max_choices=1)
    first = asyncio.run(t1.chat(MSG, n=3))
    asyncio.run(t1.aclose())
    t2 = FakeTeacher(TeacherConfig(cache_path=path))
    second = asyncio.run(t2.chat(MSG, n=4))  # 3 cached, 1 new sample
    assert [c.text for c in second[:3]] == [c.text for c in first]
    assert [c.cached for c in second] == [True, True, True, False]
    assert len(t2.requests) == 1 and t2.requests[0]["n"] == 1
    assert t2.usage.cached_calls == 3 and t2.usage.calls == 1


# Keys computed by the code before ChatRequest (main at f99fd42): the bytes hashed must not change, so
# the response caches of existing runs keep hitting.
KNOWN_MESSAGES = [
    {"role": "system", "content": "Solve step by step."},
    {"role": "user", "content": "Wie viel ist 2+2? — π"},
]
KNOWN_KEYS = [
    (
        dict(provider="openai", base_url="http://localhost:8000/v1/", model="gpt-4o-mini"),
        ChatRequest(KNOWN_MESSAGES, n=3, temperature=0.7, max_tokens=256, stop=["\nStep "]),
        {
            0: "3a295b48966ff52117133be57d54fb030c971678b0385d6411b3f306b76c5406",
            2: "4dc187d266010da92227e53a87f4b5df75d048503b08fe618e0a4b3be1790f4b",
        },
        None,
    ),
    (
        dict(provider="anthropic", base_url="https://api.anthropic.com", model="claude-3-5-haiku-latest"),
        ChatRequest(KNOWN_MESSAGES, n=2, temperature=1.0, max_tokens=64, stop=[], seed=7),
        {1: "64128dbb1aa6e710a5112eca40b05b5179e370b6fd6a2f4a175241e36a48dbfd"},
        None,
    ),
    (
        dict(provider="local", base_url=None, model="smollm2-135m"),
        ChatRequest(KNOWN_MESSAGES, temperature=0.0, max_tokens=16, seed=11),
        {0: "33b9b5f90b0abc8d7f01cec02d9526c16e0e0d5f75ea8f3885f699627cb5f25d"},
        {"device": "cpu", "dtype": "torch.float32", "path": "/models/smollm2-135m"},
    ),
]


@pytest.mark.parametrize(("where", "request_", "keys", "extra"), KNOWN_KEYS)
def test_cache_keys_are_those_of_earlier_releases(where, request_, keys, extra):
    for i, key in keys.items():
        assert cache_key(**where, request=request_, sample_index=i, extra=extra) == key


def test_a_teacher_stores_answers_under_the_earlier_keys(tmp_path):
    import sqlite3

    path = tmp_path / "c.sqlite"
    t = FakeTeacher(TeacherConfig(cache_path=path))
    asyncio.run(t.chat(MSG, n=2, temperature=0.2, max_tokens=32, stop=["\nStep "], seed=5))
    asyncio.run(t.aclose())
    with sqlite3.connect(path) as db:
        stored = {k for (k,) in db.execute("SELECT key FROM completions")}
    assert stored == {
        "ab2032d7e76b001f3914ac6e472f3b61aa3a5568d68e7e653e5a7c576b42e875",
        "f790c89d3859d6cb13fd1c57ddb77f63839058ec7ea998c7761f0ab2a37b6ca3",
    }


def test_cache_concurrent_writers(tmp_path):
    """Two connections (as two processes would) writing at once in WAL mode lose nothing."""
    path = tmp_path / "c.sqlite"
    a, b = ResponseCache(path), ResponseCache(path)

    def write(cache, prefix):
        for i in range(200):
            cache.put(f"{prefix}{i}", Completion(text=str(i)))

    import threading

    ths = [threading.Thread(target=write, args=(c, p)) for c, p in ((a, "a"), (b, "b"))]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert len(a) == 400 and b.get("a199").text == "199"
    import sqlite3

    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_rate_limiter_tokens_estimate_then_correct():
    async def main():
        lim = RateLimiter(tpm=6000)  # 100 tokens/s, one minute's worth available at start
        t0 = time.monotonic()
        await lim.acquire(6000)
        assert time.monotonic() - t0 < 0.2  # no wait (a wait here would be >= 0.3 s)
        lim.correct(6000, 5900)  # the call used less than estimated: 100 tokens come back
        await lim.acquire(100)
        assert time.monotonic() - t0 < 0.2  # no wait (a wait here would be >= 0.3 s)
        await lim.acquire(30)  # empty bucket: ~0.3 s at 100 tokens/s
        waited = time.monotonic() - t0
        assert 0.2 < waited < 2.0  # generous upper bound: CI machines may be busy

    asyncio.run(main())


def test_rate_limiter_rpm_and_cool_down():
    async def main():
        lim = RateLimiter(rpm=120)  # 2/s
        for _ in range(120):
            await lim.acquire(0)
        t0 = time.monotonic()
        await lim.acquire(0)
        assert 0.35 < time.monotonic() - t0 < 2.0
        free = RateLimiter()
        free.cool_down(0.3)
        t0 = time.monotonic()
        await free.acquire(10)
        assert time.monotonic() - t0 >= 0.29

    asyncio.run(main())


def test_retry_after_headers():
    assert retry_after_from_headers({"retry-after-ms": "250"}) == 0.25
    assert retry_after_from_headers({"retry-after": "3"}) == 3.0
    assert retry_after_from_headers({}) is None
    assert 0 <= retry_after_from_headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) <= 0.0


def test_prices_builtin_override_and_unknown(tmp_path):
    assert price_for("openai:gpt-4o-mini") == (0.15, 0.60)
    assert price_for("openai:gpt-4o-mini-2024-07-18") == (0.15, 0.60)  # dated snapshot
    assert price_for("openai:gpt-4o-2024-08-06") == (2.50, 10.0)
    assert price_for("anthropic:claude-3-5-haiku-20241022") == (0.80, 4.0)
    assert price_for("openai:my-vllm-model") is None
    assert price_for("local:smollm2-135m") == (0.0, 0.0)
    y = tmp_path / "prices.yaml"
    y.write_text("openai:my-vllm-model: {input: 0.2, output: 0.4}\ngpt-4o: [1, 2]\n")
    assert price_for("openai:my-vllm-model", y) == (0.2, 0.4)
    assert price_for("openai:gpt-4o", y) == (1.0, 2.0)
    j = tmp_path / "prices.json"
    j.write_text(json.dumps({"claude-x": {"input": 1, "output": 5, "cache_read": 0.1}}))
    assert price_of("anthropic", "claude-x", j).cache_read == 0.1
    bad = tmp_path / "bad.yaml"
    bad.write_text("gpt-4o: {input: -1, output: 2}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: 'gpt-4o'"):
        price_for("openai:gpt-4o", bad)
    with pytest.raises(ConfigError, match="cannot read"):
        price_for("openai:gpt-4o", tmp_path / "missing.yaml")


def test_make_teacher_errors_at_construction(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(TeacherError, match="set the env var OPENAI_API_KEY"):
        make_teacher("openai:gpt-4o")
    with pytest.raises(TeacherError, match="set the env var ANTHROPIC_API_KEY"):
        make_teacher("anthropic:claude-3-5-haiku-latest")
    with pytest.raises(TeacherError, match="set the env var MY_KEY"):
        make_teacher("openai:m", TeacherConfig(base_url="http://127.0.0.1:1/v1", api_key_env="MY_KEY"))
    with pytest.raises(TeacherError, match="unknown provider 'gemini'"):
        make_teacher("gemini:pro")
    with pytest.raises(TeacherError, match="expected PROVIDER:MODEL"):
        make_teacher("gpt-4o")
    with pytest.raises(TeacherError, match="not a model folder"):
        make_teacher("local:/no/such/model")
    # a local OpenAI-compatible server needs no key
    t = make_teacher("openai:m", TeacherConfig(base_url="http://127.0.0.1:1/v1"))
    assert t.spec == "openai:m" and t.usage.calls == 0
    assert parse_spec("OpenAI: gpt-4o ") == ("openai", "gpt-4o")


def test_options_reject_unknown_fields():
    with pytest.raises(Exception, match="extra"):
        TeacherConfig(concurency=3)
