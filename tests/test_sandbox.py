"""The code sandbox against hostile code: each behaviour is contained and scored as a failure, and the
machine, the test process, the other samples and their results are unharmed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from rft.verify.sandbox import Job, Limits, SandboxResult, Status, processes_of, run, run_many

QUICK = Limits(timeout=3.0)
GOOD = Job("def add(a, b):\n    return a + b\n", ("assert add(1, 2) == 3", "assert add(-1, 1) == 0"), "good")


def _uid(result: SandboxResult) -> int | None:
    return next((int(x[4:]) for x in result.isolation if x.startswith("uid:")), None)


def _contained(result: SandboxResult) -> None:
    """Scored as a failure, nothing of it left running, and the next sample still runs fine."""
    assert result.status is not Status.passed
    assert result.tests_passed == 0 or result.tests_passed < result.n_tests
    uid = _uid(result)
    if uid is not None:
        assert processes_of(uid) == []
    after = run(GOOD, QUICK)
    assert after.status is Status.passed, after


def test_a_good_job_passes_and_says_what_isolates_it():
    r = run(GOOD, QUICK)
    assert r.status is Status.passed and r.share == 1.0 and r.n_tests == 2
    assert r.returncode == 0
    assert "rlimits" in r.isolation
    assert "netns" in r.isolation or "socket-guard" in r.isolation  # one of them always: fail closed


def test_tests_are_counted_one_by_one():
    r = run(
        Job("def f(x):\n    return x * 2\n", ("assert f(1) == 2", "assert f(2) == 5", "assert f(3) == 6"))
    )
    assert r.status is Status.failed
    assert [t.ok for t in r.tests] == [True, False, True]
    assert r.tests_passed == 2 and r.share == pytest.approx(2 / 3)
    assert r.tests[1].error == "AssertionError"
    assert r.detail == "2/3 tests passed; test 1 `assert f(2) == 5` raised AssertionError"


def test_a_program_that_raises_fails_every_test():
    r = run(Job("raise ValueError('broken')\n", ("assert True",)))
    assert r.status is Status.failed and r.tests_passed == 0
    assert r.program_error == "ValueError: broken"


def test_loop_forever_is_killed_at_the_wall_clock_limit():
    t = time.monotonic()
    r = run(Job("while True:\n    pass\n", ("assert True",)), Limits(timeout=1.5))
    assert r.status is Status.timeout
    assert time.monotonic() - t < 4
    _contained(r)


def test_sleeping_forever_is_killed_too():
    r = run(Job("import time\ntime.sleep(1000)\n", ("assert True",)), Limits(timeout=1.0))
    assert r.status is Status.timeout
    _contained(r)


def test_fork_bomb_is_bounded_and_killed():
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    before = len(os.listdir("/proc"))
    r = run(Job(bomb, ("assert True",)), Limits(timeout=2.0, processes=16))
    assert r.status is Status.timeout
    assert len(os.listdir("/proc")) < before + 50
    _contained(r)


def test_a_child_that_leaves_the_process_group_dies_too():
    escape = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    import signal\n"
        "    time.sleep(1000)\n"
        "time.sleep(1000)\n"
    )
    r = run(Job(escape, ("assert True",)), Limits(timeout=1.0))
    assert r.status is Status.timeout
    _contained(r)


def test_allocating_10_gb_fails():
    r = run(Job("x = bytearray(10 * 1024 ** 3)\n", ("assert len(x) > 0",)), QUICK)
    assert r.status is Status.failed
    assert r.program_error is not None and "MemoryError" in r.program_error
    _contained(r)


def test_writing_or_deleting_files_outside_the_temp_dir_fails(tmp_path: Path):
    watched = tmp_path / "keep.txt"
    watched.write_text("precious")
    target = tmp_path / "planted.txt"
    code = (
        "import os\n"
        "errors = []\n"
        f"for f in (lambda: open({str(target)!r}, 'w').write('x'), lambda: os.remove({str(watched)!r}),\n"
        f"          lambda: open('/tmp/rft-sandbox-escape.txt', 'w').write('x'),\n"
        f"          lambda: open('/var/tmp/rft-sandbox-escape.txt', 'w').write('x'),\n"
        f"          lambda: open('/etc/rft-sandbox-escape.txt', 'w').write('x')):\n"
        "    try:\n"
        "        f()\n"
        "    except OSError as e:\n"
        "        errors.append(e)\n"
        "open('inside.txt', 'w').write('fine')\n"  # its own temp dir is writable
    )
    r = run(Job(code, ("assert not errors",)), QUICK)
    assert r.status is Status.failed
    assert watched.read_text() == "precious"
    assert not target.exists()
    for shared in ("/tmp", "/var/tmp", "/etc"):  # /tmp and /var/tmp in there are its temp dir
        assert not Path(shared, "rft-sandbox-escape.txt").exists()
    _contained(r)


def test_filling_the_disk_stops_at_the_temp_dirs_size():
    fill = "with open('big', 'wb') as f:\n    for _ in range(100):\n        f.write(bytes(1 << 20))\n"
    r = run(Job(fill), Limits(timeout=5.0, file_size_bytes=1 << 30, disk_bytes=16 << 20))
    if "tmpfs" not in r.isolation:
        pytest.skip(
            "no mount namespace here: the temp dir is on the host's disk (and file_size_bytes caps a file)"
        )
    assert r.status is Status.failed and "No space left" in (r.program_error or "")
    _contained(r)


def test_the_temp_dir_is_deleted_afterwards():
    r = run(
        Job("import os\nprint(os.getcwd())\nopen('f.txt', 'w').write('x')\nos.mkdir('d')\nos.chmod('d', 0)\n")
    )
    assert r.status is Status.passed
    leftovers = [p for p in Path("/tmp").glob("rft-sandbox-*") if p.stat().st_uid == (_uid(r) or os.getuid())]
    assert leftovers == []


@pytest.mark.parametrize("network", ["auto", "guard"])
def test_a_network_connection_fails_and_nothing_connects(network):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = (
        "import socket\n"
        "ok = False\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2).sendall(b'hi')\n"
        "    ok = True\n"
        "except OSError:\n"
        "    pass\n"
    )
    try:
        r = run(Job(code, ("assert ok",)), Limits(timeout=3.0, network=network))
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert r.status is Status.failed
    assert ("socket-guard" in r.isolation) == (network == "guard" or "netns" not in r.isolation)
    _contained(r)


def test_no_network_namespace_required_fails_closed_or_runs_in_one():
    r = run(GOOD, Limits(timeout=3.0, network="netns"))
    assert (r.status is Status.passed and "netns" in r.isolation) or r.status is Status.error


def test_secrets_in_the_environment_are_not_visible(monkeypatch):
    secret = "sk-test-" + "s3cr3t" * 4
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    monkeypatch.setenv("HF_TOKEN", secret)
    code = (
        "import os, glob\n"
        "found = [k for k, v in os.environ.items() if 'sk-test-' in v]\n"
        "for path in glob.glob('/proc/*/environ') + glob.glob('/proc/*/cmdline'):\n"
        "    try:\n"
        "        if b'sk-test-' in open(path, 'rb').read():\n"
        "            found.append(path)\n"
        "    except OSError:\n"
        "        pass\n"
        "print(sorted(os.environ))\n"
    )
    r = run(Job(code, ("assert found",)), QUICK)
    assert r.status is Status.failed  # it found nothing
    assert "OPENAI_API_KEY" not in r.stdout and secret not in r.stdout
    _contained(r)


@pytest.mark.parametrize(
    "kill",
    [
        "os.kill(os.getppid(), signal.SIGKILL)",
        f"os.kill({os.getpid()}, signal.SIGKILL)",
        "os.kill(-1, signal.SIGKILL)",
        "os.killpg(os.getpgid(0), signal.SIGKILL)",
    ],
)
def test_killing_its_parent_leaves_the_test_process_alive(kill):
    r = run(
        Job(f"import os, signal\ntry:\n    {kill}\nexcept OSError:\n    pass\n", ("assert False",)), QUICK
    )
    assert r.status is not Status.passed
    os.kill(os.getpid(), 0)  # still here
    _contained(r)


def test_printing_gigabytes_is_capped_and_killed():
    t = time.monotonic()
    r = run(Job("while True:\n    print('x' * 1_000_000)\n", ("assert True",)), Limits(timeout=10.0))
    assert r.status is Status.output_limit
    assert time.monotonic() - t < 5
    assert len(r.stdout) <= Limits().tail_bytes
    _contained(r)


WRONG = "def add(a, b):\n    return a - b\n"
TESTS = ("assert add(1, 2) == 3", "assert add(2, 2) == 4")


@pytest.mark.parametrize(
    "trick",
    [
        "import sys\nsys.exit(0)\n",  # exit 0 before the asserts run
        "import os\nos._exit(0)\n",
        "raise SystemExit(0)\n",
        "import builtins\nbuiltins.AssertionError = type('AssertionError', (Exception,), {})\n",
        "class AssertionError(BaseException):\n    pass\n",
        "import atexit, os\natexit.register(lambda: os._exit(0))\natexit.register(lambda: print('passed'))\n",
        "print('passed')\nprint('ALL TESTS PASSED')\nprint('\\tdone')\n",
        "import builtins\nbuiltins.exec = lambda *a, **k: None\nbuiltins.compile = lambda *a, **k: None\n",
        "import json\njson.dumps = lambda *a, **k: '{\"ok\": true}'\n",
        "import os\nfor fd in range(3, 64):\n    try:\n        os.write(fd, b'x\\tdone\\n')\n    except OSError:\n        pass\n",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
        "import sys\nsys.settrace(lambda *a: None)\nsys.stdout = None\nsys.stderr = None\n",
        "import threading, os, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.01), os._exit(0)), daemon=True).start()\n"
        "time.sleep(0.5)\n",
    ],
)
def test_a_faked_pass_fails(trick):
    r = run(Job(WRONG + trick, TESTS), QUICK)
    assert r.status is not Status.passed, r
    assert r.tests_passed < len(TESTS)
    _contained(r)


def test_a_faked_pass_does_not_fail_a_right_answer_by_accident():
    r = run(Job(WRONG.replace("a - b", "a + b") + "print('noise')\n", TESTS), QUICK)
    assert r.status is Status.passed


def test_hostile_samples_beside_good_ones_leave_them_and_their_results_unharmed(tmp_path: Path):
    hostile = [
        Job("while True:\n    pass\n", ("assert True",), "loop"),
        Job(
            "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n",
            (),
            "bomb",
        ),
        Job("x = bytearray(10 * 1024 ** 3)\n", (), "memory"),
        Job("while True:\n    print('y' * 100000)\n", (), "print"),
        Job("import os, signal\nos.kill(-1, signal.SIGKILL)\n", ("assert False",), "kill"),
        Job(
            "import os\nfor fd in range(3, 64):\n    try:\n        os.close(fd)\n    except OSError:\n        pass\n",
            (),
            "fds",
        ),
    ]
    jobs = [j for pair in zip([GOOD] * len(hostile), hostile, strict=True) for j in pair] + [GOOD] * 4
    results = run_many(jobs, Limits(timeout=2.0), workers=3)
    assert [r.name for r in results] == [j.name for j in jobs]
    for job, r in zip(jobs, results, strict=True):
        if job is GOOD:
            assert r.status is Status.passed, r
        elif job.tests:
            assert r.status is not Status.passed, r
    by_name = {r.name: r for r in results}
    assert by_name["loop"].status is Status.timeout
    assert by_name["print"].status is Status.output_limit
    assert by_name["memory"].status is Status.failed


def test_run_many_runs_in_parallel():
    jobs = [Job("import time\ntime.sleep(0.5)\n", ("assert True",), str(i)) for i in range(4)]
    t = time.monotonic()
    results = run_many(jobs, QUICK, workers=4)
    assert all(r.passed for r in results)
    assert time.monotonic() - t < 1.6  # four half-second sleeps side by side, not 2 s in a row


def test_cpu_time_is_limited_even_below_the_wall_clock():
    r = run(Job("while True:\n    pass\n"), Limits(timeout=20.0, cpu_seconds=1))
    assert r.status is Status.crashed and r.duration < 10
    assert r.returncode == -signal.SIGKILL or r.returncode == -signal.SIGXCPU


def test_without_namespaces_the_fallback_still_contains_hostile_code(tmp_path: Path, monkeypatch):
    """Where no namespace can be made: the socket guard, rlimits, the group kill (and as root a fresh
    uid and its sweep) still hold."""
    bare = Limits(timeout=2.0, namespaces=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-fallback")
    r = run(GOOD, bare)
    assert r.passed and "socket-guard" in r.isolation and "pidns" not in r.isolation
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.3)
    port = listener.getsockname()[1]
    try:
        net = run(Job(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)\n"), bare)
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()
    assert net.status is Status.failed and "disabled" in (net.program_error or "")
    bomb = run(
        Job("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"), bare
    )
    assert bomb.status is Status.timeout
    _contained(bomb)
    env = run(Job("import os\nassert 'OPENAI_API_KEY' not in os.environ\n"), bare)
    assert env.passed
    kill = run(Job(f"import os, signal\nos.kill({os.getpid()}, signal.SIGKILL)\n", ("assert True",)), bare)
    os.kill(os.getpid(), 0)  # still here
    if os.geteuid() == 0:  # another uid: not allowed to signal the test process
        assert kill.program_error is not None and "PermissionError" in kill.program_error
        (tmp_path / "keep.txt").write_text("precious")
        files = run(Job(f"import os\nos.remove({str(tmp_path / 'keep.txt')!r})\n"), bare)
        assert files.status is Status.failed and (tmp_path / "keep.txt").exists()


@pytest.mark.skipif(
    os.geteuid() != 0, reason="the run's processes are told apart by their own uid, which takes root"
)
def test_a_run_ends_by_itself_when_its_parent_dies_without_cleaning_up():
    uid = 1_500_000_000 + os.getpid()
    script = (
        "import os, threading, time\n"
        "import rft.verify.sandbox as sb\n"
        f"sb._fresh_uid = lambda: {uid}\n"
        "job = sb.Job('import time\\ntime.sleep(1000)\\n')\n"
        "threading.Thread(target=sb.run, args=(job, sb.Limits(timeout=1.0)), daemon=True).start()\n"
        "time.sleep(0.5)\n"
        "os._exit(0)\n"  # no atexit, no kill of the group: as if SIGKILLed
    )
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-c", script], check=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
    )
    assert processes_of(uid) != []  # the sleeper outlived its parent ...
    deadline = time.monotonic() + 6
    while processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(uid) == []  # ... but not its own wall clock
    for left in Path(tempfile.gettempdir()).glob("rft-sandbox-*"):
        if left.stat().st_uid == uid:  # the dead parent could not delete its temp dir: the test does
            left.rmdir()
