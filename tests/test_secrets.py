"""Secrets (API keys, tokens, passwords) never reach a file, a log line or the terminal.

A fake key is planted where a user might put one (an env var, a URL's query string, a URL's
userinfo, a flag that wants an env var NAME) and a stub server on 127.0.0.1 echoes whatever it is
sent back in its error bodies, as some servers do. Every file under the output root and everything
printed is then searched for the planted key.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_helpers import run_cli as rft
from cli_helpers import wide_console  # noqa: F401 (autouse fixture)
from factories import make_record
from http_stub import send_json

from rft.store import Store

PLANTED = "sk-proj-PLANTEDSECRET0123456789abcdef"
# A key that does not look like one (no sk-/hf_ prefix): only knowing the value can scrub it.
OPAQUE = "PlantedOpaqueValue0123456789xyz"
MARKERS = ("PLANTEDSECRET", "PlantedOpaque")


def leaks(*texts: str) -> list[str]:
    return [m for m in MARKERS if any(m in t for t in texts)]


def files_with_secret(root: Path) -> list[str]:
    found = []
    for p in sorted(root.rglob("*")):
        if p.is_file():
            data = p.read_bytes()
            if any(m.encode() in data for m in MARKERS):
                found.append(str(p.relative_to(root)))
    return found


# --- a stub OpenAI-compatible server that echoes what it was sent ----------------------------------
class Stub:
    """`mode`: "ok" answers every chat request; "echo400"/"echo500" answer with an error body that
    repeats the Authorization header and the URL; "ok-then-echo400" answers the one-word
    preflight ("Reply with OK.") and echoes on every other request."""

    def __init__(self, mode: str = "ok"):
        self.mode = mode
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                auth = self.headers.get("authorization") or self.headers.get("x-api-key") or ""
                stub.requests.append({"path": self.path, "auth": auth, "body": body})
                text = json.dumps(body.get("messages", ""))
                mode = stub.mode
                if mode == "ok-then-echo400":
                    mode = "ok" if "Reply with OK." in text else "echo400"
                if mode == "ok":
                    n = int(body.get("n") or 1)
                    reply = {
                        "id": "x",
                        "object": "chat.completion",
                        "model": body.get("model", "m"),
                        "choices": [
                            {
                                "index": i,
                                "message": {"role": "assistant", "content": "NO"},
                                "finish_reason": "stop",
                            }
                            for i in range(n)
                        ],
                        "usage": {"prompt_tokens": 5, "completion_tokens": n},
                    }
                    return send_json(self, 200, reply)
                status = 400 if mode == "echo400" else 500
                msg = (
                    f"bad request for key {auth} at {self.path} (x-api-key: {self.headers.get('x-api-key')})"
                )
                return send_json(self, status, {"error": {"message": msg, "type": "invalid_request_error"}})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> Stub:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    with Stub() as s:
        yield s


@pytest.fixture
def keys(monkeypatch):
    monkeypatch.setenv("MY_KEY", PLANTED)
    monkeypatch.setenv("MY_OPAQUE_KEY", OPAQUE)
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)
    monkeypatch.setenv("ANTHROPIC_API_KEY", PLANTED)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "datasets_out")
    s.seal("demo", [make_record(f"p{i}") for i in range(3)], manifest={"teacher": "local:smollm2-135m"})
    return s


# --- 1. one redaction for every writer ---------------------------------------------------------------
@pytest.mark.slow  # --semantic loads all-MiniLM-L6-v2
@pytest.mark.parametrize("param", ["api_key", "token"])
@pytest.mark.parametrize("report_only", [False, True])
def test_validate_report_never_holds_the_judge_url_key(capsys, keys, stub, store, param, report_only):
    """`--judge-base-url ...?api_key=KEY` was redacted in the manifest but written in clear into
    validation_report.json (and reports/*.json with --report-only)."""
    url = f"{stub.base_url}?{param}={PLANTED}"
    args = ["validate", "demo", "--out", str(store.root), "--benchmarks", "gsm8k", "--no-hub"]
    args += ["--semantic", "--judge", "openai:m", "--judge-base-url", url]
    code, out, err = rft(capsys, *args, *(["--report-only"] if report_only else []))
    assert code == 0, err
    ddir = store.dataset_dir("demo")
    reports = [*ddir.glob("reports/*.json"), *ddir.glob("v*/validation_report.json")]
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["config"]["judge_base_url"] == f"{stub.base_url}?{param}=<redacted>"
    assert store.versions("demo") == ([1] if report_only else [1, 2])
    assert files_with_secret(store.root) == [] and leaks(out, err) == []


def test_report_writer_redacts_every_field(store):
    """The report goes through the same redaction as the manifest, whatever field holds the key."""
    from rft.validate.report import Flag, Report
    from rft.validate.run import write_report

    rep = Report(
        "demo",
        1,
        1,
        [Flag("p0", "suspect", evidence={"note": f"Bearer {PLANTED}", "api_key": OPAQUE})],
        {"judge_base_url": f"http://h/v1?token={PLANTED}", "headers": {"Authorization": OPAQUE}},
        {},
    )
    path = write_report(store, rep)
    text = path.read_text()
    assert (
        leaks(text) == [] and json.loads(text)["config"]["judge_base_url"] == "http://h/v1?token=<redacted>"
    )


def test_generate_writes_no_key_anywhere(capsys, keys, tmp_path):
    """A key in the env var, a key in the base URL's query string and a server that echoes both in its
    error bodies: neither reaches run.json, events.jsonl, the manifest, the card, data.jsonl, stdout
    or stderr."""
    root = tmp_path / "out"
    with Stub("ok-then-echo400") as s:
        code, out, err = rft(
            capsys, "generate", "--problems", "demo", "--limit", "2", "--teacher", "openai:m",
            "--base-url", f"{s.base_url}?api_key={OPAQUE}", "--api-key-env", "MY_KEY",
            "--validator", "answer", "--max-retries", "0", "--out", str(root), "--no-progress",
        )  # fmt: skip
        assert len(s.requests) >= 2 and PLANTED in s.requests[-1]["auth"]  # the key was used
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    written = [p.name for p in root.rglob("*") if p.is_file()]
    assert "run.json" in written  # the run files were written (and searched)
    assert files_with_secret(root) == [] and leaks(out, err) == []


def test_run_files_redact_what_they_are_given(tmp_path, keys):
    """run.json meta and every events.jsonl line (records' error texts included) are redacted by
    the run itself, whatever the caller passes."""
    from rft.schemas import Outcome, Trace

    s = Store(tmp_path / "out")
    run = s.open_run("demo", meta={"config": {"base_url": f"http://u:{OPAQUE}@h/v1"}, "note": PLANTED})
    run.append_event("error", {"message": f"HTTP 400: bad key Bearer {PLANTED}", "key": OPAQUE})
    rec = make_record("p0")
    rec.trace = Trace(strategy="dfs")
    rec.outcome = Outcome(error=f"request refused: key {OPAQUE} / {PLANTED}", stop_reason="error")
    run.append_record(rec)
    run._mark_sealed("demo@v9")
    assert files_with_secret(s.root) == []
    [back] = run.records()
    assert "<redacted>" in back.outcome.error


def test_manifest_and_card_redact_every_field(tmp_path, keys):
    s = Store(tmp_path / "out")
    sealed = s.seal(
        "demo",
        [make_record("p0")],
        manifest={
            "teacher": "openai:m",
            "config": {"judge_base_url": f"http://h/v1?sig={PLANTED}"},
            "metadata": {"note": f"used {OPAQUE}"},
            "counts": {"x": 1.0},
        },
        card=f"# demo\n\nkey: {OPAQUE}\n",
        extra_files={"notes.json": json.dumps({"url": f"http://h/?token={PLANTED}"})},
    )
    assert files_with_secret(s.root) == []
    assert json.loads((sealed.path / "notes.json").read_text()) == {"url": "http://h/?token=<redacted>"}


# --- 2. an env-var flag given a key -------------------------------------------------------------------
@pytest.mark.parametrize("value", [PLANTED, "hf_PLANTEDSECRETabcdefghijklmnop", OPAQUE])
@pytest.mark.parametrize(
    ("cmd", "flag"),
    [
        (["teacher", "ping", "openai:m"], "--api-key-env"),
        (["teacher", "ping", "anthropic:m"], "--api-key-env"),
        (["validate", "demo", "--semantic", "--judge", "openai:m"], "--judge-api-key-env"),
        (["generate", "--problems", "demo", "--teacher", "openai:m"], "--api-key-env"),
        (["generate", "--problems", "demo", "--judge", "openai:m"], "--judge-api-key-env"),
    ],
)
def test_env_flag_given_a_key_is_refused_without_echo(capsys, store, tmp_path, cmd, flag, value):
    """`--api-key-env sk-proj-...` is refused by one rule everywhere: one line naming the flag, exit
    2, and the value is not echoed ("set the env var sk-proj-..." was)."""
    out_args = ["--out", str(store.root)] if cmd[0] in ("validate", "generate") else []
    code, out, err = rft(capsys, *cmd, flag, value, *out_args)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and flag in lines[0], err
    assert "NAME of an environment variable" in lines[0]
    assert leaks(out, err) == [] and value not in out + err
    assert files_with_secret(store.root) == [] and store.versions("demo") == [1]


def test_env_name_rule_is_shared():
    from rft.redaction import env_name_problem

    for ok in ("OPENAI_API_KEY", "MY_KEY", "hf_token_env", "_X1"):
        assert env_name_problem(ok) is None
    for bad in (
        PLANTED,
        "sk-ant-api03-abcdefghijklmnopq",
        "hf_abcdefghijklmnopqrstuvwx",
        OPAQUE,
        "1ABC",
        "A B",
        "",
    ):
        assert env_name_problem(bad), bad


# --- 3. error texts that echo the key ---------------------------------------------------------------
@pytest.mark.parametrize("transport", ["aiohttp", "sdk"])
@pytest.mark.parametrize("mode", ["echo400", "echo500"])
@pytest.mark.parametrize("key_env", ["MY_KEY", "MY_OPAQUE_KEY"])
def test_ping_error_body_echoing_the_key_is_scrubbed(capsys, keys, transport, mode, key_env):
    with Stub(mode) as s:
        code, out, err = rft(
            capsys, "teacher", "ping", "openai:m", "--base-url", s.base_url, "--api-key-env", key_env,
            "--retries", "0", "--transport", transport,
        )  # fmt: skip
        sent = s.requests[0]["auth"]
    assert sent.endswith(PLANTED if key_env == "MY_KEY" else OPAQUE)  # the server did see the key
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad request for key" in lines[0] and "<redacted>" in lines[0], err
    assert leaks(out, err) == []


def test_anthropic_error_body_echoing_the_key_is_scrubbed(capsys, keys):
    with Stub("echo400") as s:
        code, out, err = rft(
            capsys, "teacher", "ping", "anthropic:m", "--base-url", s.base_url.removesuffix("/v1"),
            "--api-key-env", "MY_OPAQUE_KEY", "--retries", "0", "--n", "1",
        )  # fmt: skip
        assert s.requests and s.requests[0]["auth"].endswith(OPAQUE)  # the server did see the key
    assert code == 2 and "bad request for key" in err
    assert leaks(out, err) == []


def test_teacher_errors_scrub_known_keys_and_key_shapes(keys):
    from rft.errors import TeacherError
    from rft.teachers.errors import TransientError
    from rft.teachers.http import classify

    exc = classify(
        400, {}, {"error": {"message": f"bad key {OPAQUE} " + "x" * 190 + PLANTED}}, spec="s", key_env=None
    )
    assert leaks(str(exc)) == [] and "PLANTED" not in str(exc)  # no half key left by truncation
    assert leaks(str(TransientError(f"HTTP 500: Bearer {OPAQUE}"))) == []
    assert leaks(str(TeacherError(f"x: {PLANTED}"))) == []


def test_cli_error_line_is_scrubbed(capsys, keys, tmp_path):
    """Any error shown by `rft` (here a file name holding a key) is scrubbed before it is printed."""
    code, out, err = rft(
        capsys, "generate", "--problems", str(tmp_path / f"{OPAQUE}.jsonl"), "--out", str(tmp_path)
    )
    assert code == 2 and "<redacted>" in err and leaks(out, err) == []


def test_printed_lines_are_scrubbed(capsys, keys):
    """Progress, notes and warnings go through rft.console: a key in them is never printed."""
    from rft.console import err, out

    out.print(f"note: calling http://h/v1?api_key={OPAQUE}")
    err.print(f"warning: HTTP 429 for Bearer {PLANTED}, retrying", markup=False)
    captured = capsys.readouterr()
    assert leaks(captured.out, captured.err) == [] and captured.err.count("<redacted>") == 1


def test_unexpected_exception_traceback_is_scrubbed(capsys, keys, monkeypatch):
    """A bug's traceback is still shown (exit 1), without the key it quotes."""

    def boom(*args, **kwargs):
        raise ValueError(f"cannot use {OPAQUE} with {PLANTED}")

    monkeypatch.setattr("rft.teachers.ping.ping", boom)
    code, out, err = rft(capsys, "teacher", "ping", "openai:m", "--base-url", "http://127.0.0.1:9/v1")
    assert code == 1 and "Traceback" in err and "ValueError: cannot use <redacted>" in err
    assert leaks(out, err) == []


# --- 10. credentials in the URL's userinfo ------------------------------------------------------------
@pytest.mark.parametrize("transport", ["aiohttp", "sdk"])
@pytest.mark.parametrize("spec", ["openai:m", "anthropic:m"])
def test_ping_base_url_with_userinfo_is_one_line(capsys, keys, transport, spec):
    """`--base-url http://user:KEY@host` crashed with `ValueError: Cannot combine AUTHORIZATION header`."""
    with Stub("ok") as s:
        url = s.base_url.replace("://", f"://user:{OPAQUE}@")
        code, out, err = rft(capsys, "teacher", "ping", spec, "--base-url", url, "--transport", transport)
        assert s.requests == []  # nothing was sent with the credentials
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "--base-url" in lines[0], err
    assert "Traceback" not in err and leaks(out, err) == []


def test_generate_base_url_with_userinfo_is_one_line(capsys, keys, tmp_path):
    root = tmp_path / "out"
    with Stub("ok") as s:
        url = s.base_url.replace("://", f"://user:{PLANTED}@")
        code, out, err = rft(
            capsys, "generate", "--problems", "demo", "--limit", "1", "--teacher", "openai:m",
            "--base-url", url, "--out", str(root), "--no-progress",
        )  # fmt: skip
    assert code == 2, err
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1 and "--base-url" in err
    assert leaks(out, err) == [] and (not root.exists() or files_with_secret(root) == [])


def test_validate_judge_url_with_userinfo_is_one_line(capsys, keys, store):
    url = f"http://user:{OPAQUE}@127.0.0.1:9/v1"
    args = ["validate", "demo", "--out", str(store.root), "--semantic", "--judge", "openai:m"]
    code, out, err = rft(capsys, *args, "--judge-base-url", url)
    assert code == 2 and len([ln for ln in err.splitlines() if ln.strip()]) == 1 and "--judge-base-url" in err
    assert leaks(out, err) == [] and files_with_secret(store.root) == [] and store.versions("demo") == [1]


def test_redaction_keeps_json_valid_and_data_intact(monkeypatch, tmp_path):
    """Redacting serialised JSON keeps it JSON; an innocent *_KEY value and a record's own text
    (a problem about URLs) are left alone."""
    from rft.redaction import redact_text

    blob = json.dumps(
        {"u": "http://a:b@h/v1?api_key=x1", "m": "mail a@b", "t": "Bearer abcdefghijklmnop1234"}
    )
    back = json.loads(redact_text(blob.replace(", ", ",")))
    assert back == {"u": "http://<redacted>@h/v1?api_key=<redacted>", "m": "mail a@b", "t": "<redacted>"}
    monkeypatch.setenv("SORT_KEY", "problem_id")
    assert redact_text("sorted by problem_id") == "sorted by problem_id"
    s = Store(tmp_path / "out")
    q = "Parse https://example.com/a?token=abc123def456 and return the token."
    sealed = s.seal("urls", [make_record("u0", question=q)], manifest={"teacher": "t"})
    assert q in (sealed.path / "data.jsonl").read_text()


def test_typer_usage_error_quoting_a_key_is_scrubbed(capsys, keys):
    """Typer's own usage errors quote what was typed (No such command 'sk-...'): scrubbed too."""
    code, out, err = rft(capsys, "teacher", PLANTED)
    assert code == 2 and "<redacted>" in err and leaks(out, err) == []
