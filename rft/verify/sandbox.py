"""The code sandbox: run untrusted Python (a completion and a benchmark's tests) in a child process and
say which tests passed. eval, the RL rewards and generate's `code-tests` grader all call it.

`run(job, limits)` runs one job in a fresh child, `run_many(jobs, limits, workers)` runs N at once
(threads, each waiting on its own child). The children come from a fork server started once per
parent process: `python -I -S` (isolated: no PYTHON* variables, no user or site packages, no script
directory on sys.path) with a minimal environment (PATH, LANG: nothing else of the parent's, so no API
keys), which has imported the few modules a run needs and never runs job code itself; each job is a
fork of it (a few milliseconds, where starting an interpreter takes tens). The child takes its own
session and process group, a fresh temp dir as its cwd, HOME and TMPDIR (deleted afterwards), and
isolates itself before any of the job's code runs:

- namespaces where the kernel allows them (root, or unprivileged user namespaces): a network
  namespace (no interface but a loopback that is down: no connection can be made, to 127.0.0.1 or
  anywhere), a PID namespace (the code cannot signal processes outside it, its parent
  included, and everything it forks dies with it), and a mount namespace in which every mount is
  read-only but the temp dir, which is also /tmp, /var/tmp and /dev/shm (a tmpfs of `disk_bytes`,
  so the disk cannot fill), and /proc is the PID namespace's own (no other process is even listed);
  without root the user namespace maps only the user's own uid and gid;
- as root, a fresh unprivileged uid/gid for each run (so the code cannot write what only root may,
  even where there is no mount namespace, and RLIMIT_NPROC counts only this run's processes),
  no_new_privs (no setuid binaries), and a sweep that kills whatever that uid still runs afterwards;
- rlimits, soft = hard: CPU seconds, address space, file size, open files, no core files, and
  processes. RLIMIT_NPROC counts every process and thread of the real uid, not only the sandbox's:
  with a fresh uid (root) the limit is the sandbox's own count; otherwise it is the user's current
  count plus the limit, read just before the run (concurrent runs of one user share that margin; in
  the run's own user namespace the count starts afresh, so the bound is looser but still a bound);
- without a network namespace (or with `network="guard"`), a socket guard installed before the code
  runs: `socket.socket`, `create_connection`, `create_server`, `socketpair`, `fromfd`, `getaddrinfo`
  and their `_socket` twins raise, `ctypes` cannot be imported and the exec/spawn functions of `os`,
  `posix` and `subprocess` raise (a child program would not carry the guard). The guard lives in the
  same interpreter as the code, so code written to defeat it (digging the harness's own objects out of
  its frames) could; `network="netns"` refuses to run (status `error`) where no network namespace can
  be made: fail closed.

A run is two processes: an outer one that runs no job code (it reports how the inner one ended, and
kills it at its own wall clock, 2 s past the parent's, so a run ends even if its parent has died) and
the inner one, which runs the job (PID 1 of its namespace where there is one). The parent reads stdout
and stderr as they come (keeping their tails), kills the whole process group when the wall-clock
timeout passes or the output passes its cap, and decides the verdict from a
separate pipe, never from the exit code or printed text: the harness writes one line per outcome, each
beginning with a random nonce sent with the job (not in argv, the environment or a file), built only from
functions it bound before the code ran (a patched `json`, `exec`, `os.write` or `AssertionError`
changes nothing), and ends with a `done` line written only after every test has returned, followed by
`os._exit` (atexit hooks never run). `sys.exit(0)` before the asserts is a `SystemExit` caught as a
failure, `os._exit(0)` or killing itself leaves no `done` line (a crash), a printed marker is only
output, a line without the nonce marks the run as tampered (a failure). Limit: code running in the
same interpreter can in principle dig the nonce out of the harness's memory (frames, `gc`); the
sandbox still contains such code, only that sample's verdict could be forged.
"""

from __future__ import annotations

import atexit
import marshal
import os
import secrets
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Status(StrEnum):
    passed = "passed"  # the program ran and every test returned
    failed = "failed"  # the program or a test raised (an assert, SystemExit, MemoryError, ...)
    timeout = "timeout"  # the wall-clock limit passed: the process group was killed
    output_limit = "output_limit"  # stdout + stderr passed the cap: killed
    crashed = "crashed"  # the process ended without the harness's `done` line (os._exit, a signal, a limit)
    tampered = "tampered"  # something else wrote to the verdict pipe
    error = "error"  # the sandbox could not run the job (no namespace where one was required, spawn)


Network = Literal["auto", "netns", "guard"]


@dataclass(frozen=True)
class Limits:
    """What a run may use. `cpu_seconds` defaults to the wall-clock timeout plus one to two seconds
    (the wall clock decides; the CPU limit catches what outlives it). `processes` counts threads too,
    as RLIMIT_NPROC does."""

    timeout: float = 10.0
    cpu_seconds: int | None = None
    memory_bytes: int = 1 << 30
    file_size_bytes: int = 16 << 20
    processes: int = 16
    open_files: int = 64
    max_output_bytes: int = 1 << 20  # stdout + stderr together; past it the run is killed
    tail_bytes: int = 4096  # how much of each stream the result keeps (the end)
    network: Network = "auto"
    namespaces: bool = True  # False: what is left where none can be made (uid, rlimits, socket guard)
    disk_bytes: int = 64 << 20  # the temp dir's size where it is a tmpfs of its own

    def cpu(self) -> int:
        return self.cpu_seconds if self.cpu_seconds is not None else int(self.timeout) + 2


@dataclass(frozen=True)
class Job:
    """A program (run first, as `__main__`), then its tests, each run in the program's namespace and
    counted on its own (one `check(candidate)` call for HumanEval, one assert each for MBPP)."""

    program: str
    tests: tuple[str, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class TestOutcome:
    ok: bool
    error: str | None = None  # "AssertionError: ..." when it failed


@dataclass(frozen=True)
class SandboxResult:
    status: Status
    returncode: int | None
    stdout: str  # tails
    stderr: str
    duration: float  # seconds, wall clock
    program_error: str | None = None  # the program itself raised (no test could pass)
    tests: tuple[TestOutcome, ...] = ()  # outcomes the harness reported (fewer than asked if it died)
    n_tests: int = 0
    isolation: tuple[str, ...] = ()  # the mechanisms the child reported active
    detail: str = ""
    name: str = ""

    @property
    def passed(self) -> bool:
        return self.status is Status.passed

    @property
    def tests_passed(self) -> int:
        if self.status in (Status.tampered, Status.error):
            return 0
        return sum(t.ok for t in self.tests)

    @property
    def share(self) -> float:
        """Share of the tests that passed (0 when there are none)."""
        return self.tests_passed / self.n_tests if self.n_tests else 0.0


# The zygote: a small interpreter started once per parent process (as the parent's user), with the
# modules a run needs already imported. For each job it forks a child that isolates itself and runs the
# job: a fork of a small process instead of an interpreter's start. It holds no job state and runs no
# job code; a child closes the zygote's socket before anything else. Every name the child uses once
# the job's code has started is bound beforehand (default arguments of _run).
_ZYGOTE = r"""
import os, sys, marshal, ctypes, resource, signal, socket, _socket, subprocess

def _serve(fd):
    sock = socket.socket(fileno=fd)
    # orphans of a run (its inner process, once the outer one is killed) come back here, not to the
    # machine's init, and like the zygote's own children are reaped by the kernel at once
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            head, fds, _, _ = socket.recv_fds(sock, 8, 3)
        except OSError:
            os._exit(0)
        if not head:
            os._exit(0)
        while len(head) < 8:
            more = sock.recv(8 - len(head))
            if not more:
                os._exit(0)
            head += more
        n = int.from_bytes(head, "big")
        chunks, got = [], 0
        while got < n:
            chunk = sock.recv(min(n - got, 1 << 20))
            if not chunk:
                os._exit(0)
            chunks.append(chunk)
            got += len(chunk)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _child(marshal.loads(b"".join(chunks)), fds)
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                os._exit(127)
        for f in fds:
            os.close(f)
        sock.sendall(pid.to_bytes(8, "big"))


def _child(job, fds):
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setsid()  # its own session and process group, which the parent kills as a whole
    out, err, vfd = fds
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(err, 2)
    os.close(out)
    os.close(err)
    os.close(null)
    nonce, lim, workdir = job["nonce"], job["limits"], job["workdir"]
    write = os.write

    def line(*parts):
        write(vfd, ("\t".join((nonce,) + parts) + "\n").encode())

    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    libc = ctypes.CDLL(None, use_errno=True)
    root = os.geteuid() == 0
    iso = []
    NEWNS, NEWUSER, NEWPID, NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
    want_net = lim["network"] != "guard"
    netns = pidns = False
    if not lim["namespaces"]:
        pass
    elif root:
        if want_net and libc.unshare(NEWNET) == 0:
            netns = True
        pidns = libc.unshare(NEWPID) == 0
    else:
        uid, gid = os.getuid(), os.getgid()
        flags = NEWUSER | NEWPID | (NEWNET if want_net else 0)
        if libc.unshare(flags) == 0:
            netns, pidns = want_net, True
        elif want_net and libc.unshare(NEWUSER | NEWNET) == 0:
            netns = True
        if netns or pidns:  # in the new user namespace, be who we are outside it (and nobody else)
            for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                               ("gid_map", "%d %d 1" % (gid, gid))):
                try:
                    with open("/proc/self/" + name, "w") as f:
                        f.write(text)
                except OSError:
                    pass
    if lim["network"] == "netns" and not netns:
        line("error", "no network namespace could be made (network='netns' requires one)".encode().hex())
        os._exit(3)
    outer = os.getpid()
    pid = os.fork()
    if pid:
        # the outer process runs no job code: it waits for the inner one and reports how it ended
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        # its own wall clock too, a little past the parent's: a run ends even if the parent has died
        signal.signal(signal.SIGALRM, lambda *_: os.kill(pid, signal.SIGKILL))
        signal.setitimer(signal.ITIMER_REAL, lim["wall"] + 2)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except ChildProcessError:
                os._exit(125)
            except InterruptedError:
                continue
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        try:
            line("exit", "%d" % code)
        except OSError:
            pass
        os._exit(0)
    if netns:
        iso.append("netns")
    if pidns:
        iso.append("pidns")
    # the interpreter's own files may lie where the run cannot reach them: under a directory the new
    # uid cannot enter (/root), or under /tmp (hidden by the private one): keep sys.path open through
    # directory fds (opened once the mounts are read-only), reached by /proc/self/fd
    fds = []

    def hold_path():
        for p in sys.path:
            try:
                fds.append((p, os.open(p, os.O_RDONLY | os.O_DIRECTORY)))
            except OSError:
                pass

    if not lim["namespaces"] or libc.unshare(NEWNS) != 0:
        hold_path()
    else:  # root, or inside its own user namespace
        iso.append("mountns")
        MS_REC, MS_PRIVATE, MS_BIND = 0x4000, 0x40000, 0x1000

        class MountAttr(ctypes.Structure):
            _fields_ = [(n, ctypes.c_uint64) for n in ("attr_set", "attr_clr", "propagation", "userns_fd")]

        def mount_setattr(path, flags, on=0, off=0):  # syscall 442 (Linux 5.12+)
            attr = MountAttr(on, off, 0, 0)
            return libc.syscall(442, -100, path, flags, ctypes.byref(attr), ctypes.sizeof(attr)) == 0

        libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        wd = workdir.encode()
        # the temp dir a mount of its own: a tmpfs (bounded, in memory, gone with the namespace: a
        # full disk cannot come of it), else the host's temp dir bound onto itself
        owner = job["uid"] if root else os.getuid()
        size = ("size=%d,mode=0700,uid=%d,gid=%d" % (lim["disk"], owner, owner)).encode()
        if libc.mount(b"tmpfs", wd, b"tmpfs", 0x2 | 0x4, size) == 0:  # MS_NOSUID | MS_NODEV
            iso.append("tmpfs")
            own = True
        else:
            own = libc.mount(wd, wd, None, MS_BIND, None) == 0
        # then every mount read-only (AT_RECURSIVE, MOUNT_ATTR_RDONLY) but that one
        if own and mount_setattr(b"/", 0x8000, on=1):
            if mount_setattr(wd, 0, off=1):
                iso.append("readonly-root")
            else:
                mount_setattr(b"/", 0x8000, off=1)
        hold_path()
        # /tmp last: the temp dir lies under it, and is found by its path until then
        shared = [d for d in ("/var/tmp", "/dev/shm", "/tmp") if os.path.isdir(d)]
        if all(libc.mount(wd, d.encode(), None, MS_BIND, None) == 0 for d in shared):
            iso.append("private-tmp")
            os.chdir("/tmp")  # the same dir, by the name it has in here
            os.environ["HOME"] = os.environ["TMPDIR"] = "/tmp"
        # a /proc of its own PID namespace: the machine's processes are not even listed
        if pidns and libc.mount(b"proc", b"/proc", b"proc", 0x2 | 0x4 | 0x8, None) == 0:
            iso.append("proc")
    if root:
        uid = job["uid"]
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        except OSError as e:
            line("error", ("could not drop privileges: %s" % e).encode().hex())
            os._exit(3)
        libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: /proc/self/fd stays ours
        iso.append("uid:%d" % uid)
    moved = {p: "/proc/self/fd/%d" % fd for p, fd in fds}

    def reach(p):
        for old, new in moved.items():
            if p == old or p.startswith(old + "/"):
                return new + p[len(old):]
        return p

    sys.path[:] = list(moved.values())
    for mod in list(sys.modules.values()):
        path = getattr(mod, "__path__", None)
        if isinstance(path, list):
            path[:] = [reach(p) for p in path]
    sys.path_importer_cache.clear()
    libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the outer process
    if os.getppid() != outer and not pidns:
        os._exit(125)
    R = resource
    nproc = lim["processes"] if root else lim["processes"] + job["user_procs"]
    for what, value in (
        (R.RLIMIT_CPU, lim["cpu"]),
        (R.RLIMIT_AS, lim["memory"]),
        (R.RLIMIT_FSIZE, lim["fsize"]),
        (R.RLIMIT_NOFILE, lim["nofile"]),
        (R.RLIMIT_NPROC, nproc),
        (R.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(what, (value, value))
    iso.append("rlimits")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # too big a file: an OSError, not a kill
    if not netns:

        def refuse(*a, **k):
            raise PermissionError("network access is disabled in the sandbox")

        class Refused(socket.socket):  # a class still, so modules that subclass it (ssl) import
            __slots__ = ()

            def __init__(self, *a, **k):
                refuse()

        for mod in (socket, _socket):
            for name in ("create_connection", "create_server", "socketpair", "fromfd", "getaddrinfo",
                         "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
                if hasattr(mod, name):
                    setattr(mod, name, refuse)
            mod.socket = mod.SocketType = Refused
        import posix, _posixsubprocess

        for mod in (os, posix):
            for name in dir(mod):
                if name.startswith(("exec", "spawn", "posix_spawn")) or name in ("system", "popen"):
                    setattr(mod, name, refuse)
        subprocess.Popen = refuse
        _posixsubprocess.fork_exec = refuse
        for name in ("ctypes", "_ctypes", "_posixsubprocess"):
            sys.modules[name] = None
        iso.append("socket-guard")
    line("iso", ",".join(iso))
    program, tests = job["program"], job["tests"]
    del job, lim
    _run(program, tests, line)


def _run(program, tests, line, _exec=exec, _compile=compile, _BE=BaseException, _str=str,
         _type=type, _enumerate=enumerate, _settrace=sys.settrace, _setprofile=sys.setprofile,
         _exit=os._exit, _sys=sys):
    def describe(e):
        try:
            name, msg = _type(e).__name__, _str(e)
            text = "%s: %s" % (name, msg) if msg else name
        except _BE:
            text = "an exception that cannot be shown"
        return text[:500].encode("utf-8", "replace").hex()

    g = {"__name__": "__main__", "__builtins__": __builtins__}
    try:
        _exec(_compile(program, "<program>", "exec"), g)
        failed = None
    except _BE as e:
        failed = describe(e)
    line("program", "" if failed is None else failed)
    for i, test in _enumerate(tests):
        err = failed
        if failed is None:
            try:
                _settrace(None)
                _setprofile(None)
                _exec(_compile(test, "<test %d>" % i, "exec"), g)
                err = None
            except _BE as e:
                err = describe(e)
        line("test", "%d" % i, "" if err is None else err)
    line("done")
    try:
        _sys.stdout.flush()
        _sys.stderr.flush()
    except _BE:
        pass
    _exit(0)

_serve(int(sys.argv[-1]))
"""

_BOOT = "import sys; exec(compile(sys.stdin.read(), 'rft-sandbox', 'exec'))"


class _Zygote:
    """The fork server of one parent process: started on first use, restarted if it died."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.owner = -1

    def _start(self) -> None:
        self.close()
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # the code comes on stdin, so that `ps` shows a short command line
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _BOOT, "rft-sandbox", str(child.fileno())],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env=_env("/"),
                pass_fds=(child.fileno(),),
                start_new_session=True,  # no Ctrl-C from the terminal: it ends when the socket closes
            )
        finally:
            child.close()
        assert self.proc.stdin is not None
        self.proc.stdin.write(_ZYGOTE.encode())
        self.proc.stdin.close()
        self.sock, self.owner = parent, os.getpid()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()  # the zygote ends at EOF
            self.sock = None
        if self.proc is not None and self.owner == os.getpid():
            try:
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def spawn(self, payload: bytes, fds: list[int]) -> int:
        """Fork a child for one job; the pid of its process group."""
        with self.lock:
            for attempt in (0, 1):
                if (
                    self.sock is None
                    or self.owner != os.getpid()
                    or self.proc is None
                    or self.proc.poll() is not None
                ):
                    self._start()
                assert self.sock is not None
                try:
                    socket.send_fds(self.sock, [len(payload).to_bytes(8, "big")], fds)
                    self.sock.sendall(payload)
                    reply = b""
                    while len(reply) < 8:
                        chunk = self.sock.recv(8 - len(reply))
                        if not chunk:
                            raise ConnectionError("the sandbox's fork server ended")
                        reply += chunk
                    return int.from_bytes(reply, "big")
                except OSError:
                    self.sock.close()
                    self.sock = None
                    if attempt:
                        raise
            raise AssertionError("unreachable")


_ZYGOTE_SERVER = _Zygote()
atexit.register(_ZYGOTE_SERVER.close)

_SAFE_ENV = ("PATH", "LANG", "LC_ALL", "TZ")


def _env(workdir: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in _SAFE_ENV if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("LANG", "C.UTF-8")
    env.update(HOME=workdir, TMPDIR=workdir, PYTHONIOENCODING="utf-8")
    return env


def _uid_ranges() -> list[tuple[int, int]]:
    """The uids this process may switch to: its user namespace's map (inside, start, count)."""
    try:
        with open("/proc/self/uid_map") as f:
            return [(int(a), int(c)) for a, _, c in (ln.split() for ln in f)]
    except OSError:
        return [(0, 65536)]


def _fresh_uid() -> int:
    """An unused-looking uid for one run: random, high in the mapped range (never below 1000)."""
    start, count = max(_uid_ranges(), key=lambda r: r[1])
    low = max(start, 1000)
    high = min(start + count - 2, 2**31 - 2)  # the last one is the overflow uid in small maps
    if count > 2_000_000:
        low = max(low, 1_000_000)
    return low + secrets.randbelow(max(1, high - low))


def _user_tasks(uid: int) -> int:
    """How many processes and threads a uid runs (what RLIMIT_NPROC counts)."""
    n = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    n += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                pass
    return n


def _alive(pid: str) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2][:3].strip() not in (b"Z", b"X")
    except OSError:
        return False


def processes_of(uid: int) -> list[int]:
    """The live (not zombie) processes of a uid."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid and _alive(entry):
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


def _sweep(uid: int) -> None:
    """Kill every process of a run's own uid (a backstop for one that left the process group), and
    wait (up to 2 s) until none is left."""
    for _ in range(200):
        pids = processes_of(uid)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)


def _rmtree(path: str) -> None:
    def retry(func, p, _exc):  # a directory the code made unreadable: open it up and try again
        try:
            os.chmod(os.path.dirname(p), stat.S_IRWXU)
            os.chmod(p, stat.S_IRWXU)
            func(p)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)


class _Tail:
    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.buf = bytearray()

    def add(self, data: bytes) -> None:
        self.buf += data
        if len(self.buf) > 2 * self.keep:
            del self.buf[: len(self.buf) - self.keep]

    def text(self) -> str:
        return bytes(self.buf[-self.keep :]).decode("utf-8", "replace")


def _unhex(s: str) -> str:
    try:
        return bytes.fromhex(s).decode("utf-8", "replace")
    except ValueError:
        return s


def run(job: Job, limits: Limits | None = None) -> SandboxResult:
    """Run one job in a fresh sandbox and return what happened (never raises for the job's doing)."""
    limits = limits or Limits()
    start = time.monotonic()
    root = os.geteuid() == 0
    uid = _fresh_uid() if root else os.getuid()
    workdir = tempfile.mkdtemp(prefix="rft-sandbox-")
    nonce = secrets.token_hex(16)
    pipes = [os.pipe() for _ in range(3)]  # stdout, stderr, verdict
    ends = [r for r, _ in pipes]
    try:
        if root:
            os.chown(workdir, uid, uid)
        payload = {
            "nonce": nonce,
            "uid": uid,
            "workdir": workdir,
            "user_procs": 0 if root else _user_tasks(uid),
            "program": job.program,
            "tests": list(job.tests),
            "limits": {
                "cpu": limits.cpu(),
                "memory": limits.memory_bytes,
                "fsize": limits.file_size_bytes,
                "nofile": limits.open_files,
                "processes": limits.processes,
                "network": limits.network,
                "wall": limits.timeout,
                "namespaces": limits.namespaces,
                "disk": limits.disk_bytes,
            },
        }
        try:
            pgid = _ZYGOTE_SERVER.spawn(marshal.dumps(payload), [w for _, w in pipes])
        except OSError as e:
            return SandboxResult(
                Status.error, None, "", "", time.monotonic() - start, detail=str(e), name=job.name
            )
        finally:
            for _, w in pipes:
                os.close(w)
        return _collect(pgid, job, limits, nonce, ends, start, uid if root else None)
    finally:
        for r in ends:
            os.close(r)
        _rmtree(workdir)


def _collect(
    pgid: int, job: Job, limits: Limits, nonce: str, ends: list[int], start: float, own_uid: int | None
) -> SandboxResult:
    out_fd, err_fd, vr = ends
    out, err = _Tail(limits.tail_bytes), _Tail(limits.tail_bytes)
    verdict = bytearray()
    streams = {out_fd: out, err_fd: err}
    sel = selectors.DefaultSelector()
    for fd in ends:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    deadline = start + limits.timeout
    total = 0
    timed_out = over = reported = False
    exit_line = f"\n{nonce}\texit\t".encode()  # the outer process writes it when the inner one has ended
    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                timed_out = not reported
                break
            for key, _ in sel.select(min(deadline - now, 0.5)):
                try:
                    data = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not data:
                    sel.unregister(key.fd)
                    continue
                if key.fd == vr:
                    verdict += data
                    if len(verdict) > 1 << 20:
                        over = True
                        break
                    if not reported and exit_line in verdict:
                        # the outer process has reported the end: what still holds a pipe is left over
                        reported = True
                        sel.unregister(vr)
                        deadline = min(deadline, time.monotonic() + 0.2)
                    continue
                streams[key.fd].add(data)
                total += len(data)
                if total > limits.max_output_bytes:
                    over = True
                    break
            if over:
                break
    finally:
        sel.close()
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        # once the PID namespace's first process has ended (the outer process reported it), the kernel
        # has killed the rest of the namespace: only a run cut short can have left something running
        if own_uid is not None and not (reported and _in_pidns(verdict, nonce)):
            _sweep(own_uid)
    duration = time.monotonic() - start
    return _verdict(job, bytes(verdict), nonce, out, err, duration, timed_out, over)


def _in_pidns(verdict: bytes | bytearray, nonce: str) -> bool:
    head = f"{nonce}\tiso\t".encode()
    for ln in bytes(verdict).split(b"\n"):
        if ln.startswith(head):
            return b"pidns" in ln[len(head) :].split(b",")
    return False


def _verdict(
    job: Job,
    verdict: bytes,
    nonce: str,
    out: _Tail,
    err: _Tail,
    duration: float,
    timed_out: bool,
    over: bool,
) -> SandboxResult:
    tests: list[TestOutcome] = []
    iso: tuple[str, ...] = ()
    program_error: str | None = None
    done = tampered = False
    error: str | None = None
    returncode: int | None = None
    complete = verdict.endswith(b"\n") or not verdict
    lines = verdict.decode("utf-8", "replace").split("\n")
    if not complete:
        lines = lines[:-1]  # a line cut off by the kill
    for ln in lines:
        if not ln:
            continue
        parts = ln.split("\t")
        if parts[0] != nonce or len(parts) < 2:
            tampered = True
            continue
        kind, rest = parts[1], parts[2:]
        if kind == "iso" and rest:
            iso = tuple(x for x in rest[0].split(",") if x)
        elif kind == "program" and rest:
            program_error = _unhex(rest[0]) or None
        elif kind == "test" and len(rest) == 2 and rest[0] == str(len(tests)):
            tests.append(TestOutcome(not rest[1], _unhex(rest[1]) or None))
        elif kind == "done":
            done = True
        elif kind == "exit" and rest:
            returncode = int(rest[0]) if rest[0].lstrip("-").isdigit() else None
        elif kind == "error" and rest:
            error = _unhex(rest[0])
        else:
            tampered = True
    n = len(job.tests)
    if error is not None:
        status, detail = Status.error, error
    elif tampered:
        status, detail = Status.tampered, "the verdict pipe carried lines the harness did not write"
    elif timed_out:
        status, detail = Status.timeout, f"no verdict within the {duration:.1f} s limit: killed"
    elif over:
        status, detail = Status.output_limit, "output past the cap: killed"
    elif not done or len(tests) != n:
        status, detail = Status.crashed, f"ended without a verdict (exit {returncode})"
    elif program_error is None and all(t.ok for t in tests):
        status, detail = Status.passed, f"{n}/{n} tests passed"
    else:
        status = Status.failed
        if program_error is not None:
            first = f"the program raised {program_error}"
        else:
            i, bad = next((i, t) for i, t in enumerate(tests) if not t.ok)
            source = job.tests[i].strip()
            shown = f" `{source[:120]}`" if "\n" not in source else ""
            first = f"test {i}{shown} raised {bad.error}"
        detail = f"{sum(t.ok for t in tests)}/{n} tests passed; {first}"
    return SandboxResult(
        status=status,
        returncode=returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration=duration,
        program_error=program_error,
        tests=tuple(tests),
        n_tests=n,
        isolation=iso,
        detail=detail,
        name=job.name,
    )


def run_many(
    jobs: Iterable[Job], limits: Limits | None = None, workers: int | None = None
) -> list[SandboxResult]:
    """Run jobs `workers` at a time (default: the CPU count), results in the jobs' order."""
    jobs = list(jobs)
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(jobs) <= 1:
        return [run(j, limits) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox") as pool:
        return list(pool.map(lambda j: run(j, limits), jobs))


def isolation(limits: Limits | None = None) -> tuple[str, ...]:
    """The mechanisms a sandbox gets on this machine (what the child reports)."""
    return run(Job("pass"), limits).isolation


__all__ = [
    "Job",
    "Limits",
    "SandboxResult",
    "Status",
    "TestOutcome",
    "isolation",
    "run",
    "run_many",
]
