"""Validate's LLM judge goes through the teacher layer: retries, the concurrency limit and a response
cache in the dataset's folder; and the store writes validate's report files."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from factories import make_record
from http_stub import send_json

from rft.errors import ConfigError
from rft.store import Store
from rft.validate.config import ValidateConfig
from rft.validate.judge import JUDGE_CACHE, JUDGE_CONCURRENCY, JUDGE_PROMPT, open_judge


class JudgeServer:
    """OpenAI-compatible: YES when both problems are the same text, else NO; the first request fails
    with a 503 (a retry must follow)."""

    def __init__(self) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                server.requests += 1
                if server.requests == 1:
                    return send_json(self, 503, {"error": {"message": "busy"}})
                prompt = body["messages"][-1]["content"]
                a, _, b = prompt.partition("Problem A:\n")[2].partition("\n\nProblem B:\n")
                answer = "YES" if a == b else "NO"
                choice = {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer},
                    "finish_reason": "stop",
                }
                usage = {"prompt_tokens": 5, "completion_tokens": 1}
                return send_json(self, 200, {"id": "x", "model": "m", "choices": [choice], "usage": usage})

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.http.server_address[1]}/v1"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    s = JudgeServer()
    yield s
    s.close()


def test_judge_retries_and_caches_through_the_teacher_layer(server, tmp_path: Path):
    cfg = ValidateConfig(hub=False, semantic=True, judge="openai:m", judge_base_url=server.base_url)
    cache = Store(tmp_path).cache_path("demo", JUDGE_CACHE)
    pairs = [("two plus two", "two plus two"), ("a cat", "a dog"), ("x", "x")]
    with open_judge(cfg, cache) as judge:
        assert judge.options.concurrency == JUDGE_CONCURRENCY and judge.options.cache_path == cache
        assert judge(pairs) == [True, False, True]  # the 503 was retried
        assert judge(pairs[:1]) == [True]  # a second round: the same teacher, served from its cache
    assert server.requests == 4 and cache.is_file()
    with open_judge(cfg, cache) as judge:  # the next validation asks nothing already answered
        assert judge(pairs) == [True, False, True]
    assert server.requests == 4
    with open_judge(cfg) as judge:  # no cache: asked again
        assert judge(pairs[1:2]) == [False]
    assert server.requests == 5
    assert JUDGE_PROMPT.format(a="q", b="r").endswith("Problem A:\nq\n\nProblem B:\nr")


def test_no_judge_opens_nothing(tmp_path: Path):
    with open_judge(ValidateConfig(hub=False), tmp_path / "c.sqlite") as judge:
        assert judge is None
    assert not (tmp_path / "c.sqlite").exists()


def test_store_writes_reports_atomically_beside_the_versions(tmp_path: Path):
    store = Store(tmp_path)
    store.seal("demo", [make_record("p0")], manifest={})
    path = store.write_report("demo", "v1-x.json", '{"a": 1}\n')
    assert path == store.dataset_dir("demo") / "reports" / "v1-x.json" and path.read_text() == '{"a": 1}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == ["v1-x.json"]  # no temp file left
    for bad in ("../v1/x.json", ".hidden", "a/b"):
        with pytest.raises(ConfigError):
            store.write_report("demo", bad, "")
    assert store.cache_path("demo", "judge.sqlite") == store.dataset_dir("demo") / "cache" / "judge.sqlite"
