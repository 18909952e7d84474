"""The versioned dataset store: runs in progress, atomic sealing into `vN`, loading with checksums, merge.

<root>/<name>/v1/ data.jsonl manifest.json README.md [extra files]   sealed, read-only
<root>/<name>/runs/<run-id>/ run.json events.jsonl cache.sqlite      resumable
<root>/<name>/LATEST                                                 "vN" of the newest seal
<root>/<name>/reports/ <file>.json                                   reports written beside the versions
<root>/<name>/cache/ <file>.sqlite                                   response caches outside any run
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from filelock import FileLock
from pydantic import ValidationError

import rft
from rft.errors import (
    ChecksumError,
    ConfigError,
    InputError,
    NotFoundError,
    RftError,
    SealedVersionError,
    StorageError,
    storage_error,
    write_error,
)
from rft.redaction import known_secrets, redact, redact_argv, redact_record, redact_text
from rft.schemas import FileEntry, Manifest, Record, RecordCounts, sum_cost
from rft.store import fsutil
from rft.store.card import DATA_FILE, default_card
from rft.store.records import iter_records
from rft.store.refs import VERSION_DIR_RE, check_name, check_run_id, format_ref, parse_ref
from rft.store.run import RUN_JSON, Run, _claim_writer, utc_now

README = "README.md"
MANIFEST = fsutil.MANIFEST
LATEST = "LATEST"
RUNS = "runs"
REPORTS = "reports"
CACHE = "cache"
TMP_PREFIX = ".tmp-v"
RESERVED_FILES = {DATA_FILE, README, MANIFEST}
# Fields the store owns; values passed by a caller for these are ignored.
STORE_FIELDS = {
    "name", "version", "created_at", "rft_version", "git_commit", "files", "schema_version", "manifest_sha256"
}  # fmt: skip
EXTRA_FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class SealedVersion:
    name: str
    version: int
    path: Path
    manifest: Manifest
    reused: bool = False  # True: this exact seal existed already (same identity); nothing was written

    @property
    def ref(self) -> str:
        return format_ref(self.name, self.version)


@dataclass
class LoadedVersion:
    name: str
    version: int
    path: Path
    manifest: Manifest
    records: list[Record] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return format_ref(self.name, self.version)

    def record(self, problem_id: str) -> Record:
        for r in self.records:
            if r.id == problem_id:
                return r
        raise NotFoundError(f"no record with id {problem_id!r} in {self.ref} ({len(self.records)} records)")


class DatasetInfo(NamedTuple):
    name: str
    versions: list[int]
    latest: int | None


def _file_name(filename: str) -> str:
    """A plain file name (no folder, no leading dot) for a file the store writes beside the versions."""
    if not EXTRA_FILE_RE.match(filename):
        raise ConfigError(f"invalid file name {filename!r}: use letters, digits, '.', '_' or '-'")
    return filename


def git_commit() -> str | None:
    """Commit of the rft source checkout (with `+dirty` for uncommitted changes), or None."""
    src = Path(rft.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(src), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
        if head.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(src), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = head.stdout.strip()
    return commit + ("+dirty" if status.returncode == 0 and status.stdout.strip() else "")


def _default_command() -> list[str]:
    return ["rft", *sys.argv[1:]] if Path(sys.argv[0]).name == "rft" else []


def _crash_hook(point: str) -> None:
    """Test hook: RFT_TEST_CRASH_<POINT>=1 kills this process with SIGKILL at that point of a seal."""
    if os.environ.get(f"RFT_TEST_CRASH_{point}") == "1":
        os.kill(os.getpid(), signal.SIGKILL)


class RecordsDigest:
    """sha256 of a set of records, whatever their order (the content half of a seal's identity), fed
    one record at a time: the sha256 of each record's JSON is kept (32 bytes each, never the records)
    and the digest is the sha256 of those, sorted."""

    def __init__(self) -> None:
        self._hashes: list[bytes] = []

    def add(self, line: bytes) -> None:
        self._hashes.append(hashlib.sha256(line).digest())

    def hexdigest(self) -> str:
        h = hashlib.sha256()
        for d in sorted(self._hashes):
            h.update(d)
        return h.hexdigest()


def records_digest(records: Iterable[Record]) -> str:
    """The `RecordsDigest` of `records` (a stream is read once)."""
    d = RecordsDigest()
    for r in records:
        d.add(r.model_dump_json().encode("utf-8"))
    return d.hexdigest()


def manifest_digest(data: dict[str, Any]) -> str:
    """sha256 of a manifest's canonical JSON (sorted keys, no whitespace) without `manifest_sha256`."""
    body = {k: v for k, v in data.items() if k != "manifest_sha256"}
    blob = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class _HashingWriter:
    """Write a file durably while computing its sha256, size and line count."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "wb")  # noqa: SIM115
        self._h = hashlib.sha256()
        self.bytes = 0
        self.rows = 0

    def write(self, data: bytes) -> None:
        self._fh.write(data)
        self._h.update(data)
        self.bytes += len(data)
        self.rows += data.count(b"\n")

    def close(self, rows: bool = False) -> FileEntry:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        return FileEntry(sha256=self._h.hexdigest(), bytes=self.bytes, rows=self.rows if rows else None)


@contextmanager
def _dataset_lock(ddir: Path) -> Iterator[None]:
    """The lock that serialises seals of one dataset. A folder where its lock file cannot be created
    (read-only, full, no permission) is one StorageError naming the folder."""
    lock = FileLock(str(ddir / ".lock"))
    try:
        lock.acquire()
    except OSError as exc:
        failed = storage_error(exc, f"to {ddir}", f"nothing was sealed and {ddir.name} is unchanged")
        if failed is None:
            raise
        raise failed from exc
    try:
        yield
    finally:
        lock.release()


class Store:
    """A folder of versioned datasets (default `datasets_out`)."""

    def __init__(self, root: Path | str = "datasets_out") -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- layout ---
    def dataset_dir(self, name: str) -> Path:
        return self.root / check_name(name)

    def versions(self, name: str) -> list[int]:
        d = self.dataset_dir(name)
        if not d.is_dir():
            return []
        out = []
        for p in d.iterdir():
            m = VERSION_DIR_RE.match(p.name)
            if m and p.is_dir() and (p / MANIFEST).is_file():
                out.append(int(m.group(1)))
        return sorted(out)

    def latest(self, name: str) -> int | None:
        p = self.dataset_dir(name) / LATEST
        try:
            text = p.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{p}: cannot read ({getattr(exc, 'strerror', None) or exc})") from exc
        m = VERSION_DIR_RE.match(text)
        if not m:
            raise InputError(f"{p}: expected a version like 'v3', found {text[:40]!r}")
        return int(m.group(1))

    def list_datasets(self) -> list[DatasetInfo]:
        """Every dataset under the root that has at least one sealed version, sorted by name. A LATEST
        that cannot be read gives `latest=None` here (reading that dataset then names the problem)."""
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir()):
            if not d.is_dir() or d.name.startswith("."):
                continue
            try:
                check_name(d.name)
            except ConfigError:
                continue
            versions = self.versions(d.name)
            if versions:
                try:
                    latest = self.latest(d.name)
                except RftError:
                    latest = None
                out.append(DatasetInfo(d.name, versions, latest))
        return out

    def guard_writable(self, path: Path | str) -> Path:
        """Raise SealedVersionError if `path` is inside a sealed version folder."""
        return fsutil.guard_writable(path)

    # --- files beside the versions ---
    def cache_path(self, name: str, filename: str) -> Path:
        """Where a stage keeps a response cache for `name` outside any run (validate's judge)."""
        return self.dataset_dir(name) / CACHE / _file_name(filename)

    def write_report(self, name: str, filename: str, text: str) -> Path:
        """Write `<name>/reports/<filename>` atomically: a temp file beside it, fsynced, renamed into
        place, the folder fsynced. A failed write leaves no temp file and is one error line."""
        out = fsutil.guard_writable(self.dataset_dir(name) / REPORTS / _file_name(filename))
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(text, encoding="utf-8")
            fsutil.fsync_file(tmp)
            tmp.replace(out)
            fsutil.fsync_dir(out.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise write_error(exc, out, "no report was written") from None
        return out

    # --- runs ---
    def open_run(self, name: str, run_id: str | None = None, meta: dict[str, Any] | None = None) -> Run:
        """Create `<name>/runs/<run-id>/`, or reopen it (resume) when `run_id` exists. `meta` is kept
        from creation (secrets removed); a reopened run keeps its original meta."""
        run_id = check_run_id(run_id) if run_id else self._new_run_id()
        path = self.dataset_dir(name) / RUNS / run_id
        fsutil.guard_writable(path)
        run = Run(path, name, run_id)
        if not (path / RUN_JSON).is_file():
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"cannot create run folder {path}: {exc.strerror}") from exc
            info = {
                "id": run_id,
                "name": name,
                "created_at": utc_now(),
                "meta": meta or {},
            }  # redacted by _write_info
            run._write_info(info)
            fsutil.fsync_dir(path.parent)
        return run

    @staticmethod
    def _new_run_id() -> str:
        return utc_now().replace("-", "").replace(":", "") + "-" + secrets.token_hex(3)

    def runs(self, name: str) -> list[Run]:
        d = self.dataset_dir(name) / RUNS
        if not d.is_dir():
            return []
        return [Run(p, name, p.name) for p in sorted(d.iterdir()) if (p / RUN_JSON).is_file()]

    def find_run(self, run_id: str) -> Run:
        check_run_id(run_id)
        found = sorted(self.root.glob(f"*/{RUNS}/{run_id}/{RUN_JSON}")) if self.root.is_dir() else []
        if not found:
            raise NotFoundError(f"no run {run_id!r} under {self.root}")
        if len(found) > 1:
            names = ", ".join(p.parent.parent.parent.name for p in found)
            raise ConfigError(f"run id {run_id!r} exists under several datasets ({names}); open it by name")
        p = found[0].parent
        return Run(p, p.parent.parent.name, run_id)

    # --- sealing ---
    def seal(
        self,
        name: str,
        records: Iterable[Record],
        *,
        manifest: dict[str, Any] | Callable[[RecordCounts], dict[str, Any]],
        card: str | Callable[[Manifest, RecordCounts], str] | None = None,
        extra_files: dict[str, bytes | str] | None = None,
        run: Run | None = None,
        identity: dict[str, Any] | None = None,
    ) -> SealedVersion:
        """Write `records` as the next version `vN` of `name`, atomically, and point LATEST at it.

        `records` is read once, as a stream (a list, or e.g. `Run.finished_records`): each record is
        written, hashed and counted as it goes by, so memory stays flat in the number of records.
        `manifest` (or what it returns given the counts of the records written) and `card` (text, or
        made from the manifest sealed and those counts) come after the records.

        Idempotent: a seal of a `run` (or with an `identity`, e.g. a parent and a config hash) records
        that identity and the hash of its records in the manifest; sealing the same thing again, after a
        kill or from a second process, finds that version inside the lock and returns it (`reused`)."""
        ddir = self.dataset_dir(name)
        fsutil.guard_writable(ddir)
        extra = dict(extra_files or {})
        for fname in extra:
            if fname in RESERVED_FILES or not EXTRA_FILE_RE.match(fname):
                raise ValueError(f"extra file name {fname!r} is reserved or not a plain file name")
        try:
            ddir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot create {ddir}: {exc.strerror}") from exc
        with _dataset_lock(ddir):
            self._clean_temps(ddir)
            version = max(self.versions(name), default=0) + 1
            while (ddir / f"v{version}").exists():  # a folder without a manifest: never reuse its name
                version += 1
            tmp = ddir / f"{TMP_PREFIX}{version}-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
                data, digest, tally = self._write_data(tmp, name, records)
                ident = self._identity(digest, run, identity)
                found = self._find_sealed(name, ident) if ident is not None else None
                if found is not None:  # this seal exists: the data just written is dropped
                    shutil.rmtree(tmp, ignore_errors=True)
                    self._adopt(found, run, tally.records)
                    return found
                if run is not None:
                    if run.sealed_as:
                        raise SealedVersionError(
                            f"run {run.id} was already sealed into {run.sealed_as} with other records; "
                            "start a new run"
                        )
                    _claim_writer(run.path, run.id)  # nobody else is writing this run (before writing vN)
                given = manifest(tally) if callable(manifest) else manifest
                if ident is not None:
                    given = {**given, "identity": ident}
                m = self._write_version(tmp, name, version, data, tally, given, card, extra)
            except BaseException as exc:
                shutil.rmtree(tmp, ignore_errors=True)
                if (failed := self._write_failed(exc, name, version)) is not None:
                    raise failed from exc
                raise
            _crash_hook("BEFORE_RENAME")
            final = ddir / f"v{version}"
            os.rename(tmp, final)
            fsutil.fsync_dir(ddir)
            _crash_hook("BEFORE_LATEST")
            fsutil.replace_atomic(ddir / LATEST, f"v{version}\n".encode())
            sealed = SealedVersion(name, version, final, m)
            _crash_hook("BEFORE_MARK")
            if run is not None:  # inside the lock: a second sealer of this run sees it marked
                run.append_event("sealed", {"version": sealed.ref, "records": tally.records})
                run._mark_sealed(sealed.ref)
        return sealed

    @staticmethod
    def _identity(digest: str, run: Run | None, given: dict[str, Any] | None) -> dict | None:
        if run is None and given is None:
            return None
        ident = {**({"run_id": run.id} if run is not None else {}), **(given or {})}
        return {**ident, "records_sha256": digest}

    def _find_sealed(self, name: str, ident: dict[str, Any]) -> SealedVersion | None:
        """The newest version whose manifest records exactly this identity (records hash included)."""
        for v in reversed(self.versions(name)):
            try:
                m = self.read_manifest(name, v)
            except RftError:  # a damaged version is nobody's seal
                continue
            if m.identity == ident:
                return SealedVersion(name, v, self.dataset_dir(name) / f"v{v}", m, reused=True)
        return None

    def _adopt(self, found: SealedVersion, run: Run | None, n_records: int) -> None:
        """Finish what a killed seal of `found` left undone: LATEST and the run's mark (lock held)."""
        ddir = self.dataset_dir(found.name)
        try:
            current = self.latest(found.name)
        except InputError:  # garbage in LATEST: left for the user to see
            current = found.version
        if current is None or current < found.version:
            fsutil.replace_atomic(ddir / LATEST, f"v{found.version}\n".encode())
        if run is not None and not run.sealed_as:
            run.append_event("sealed", {"version": found.ref, "records": n_records, "recovered": True})
            run._mark_sealed(found.ref)

    def sealed_version_of(self, run: Run, records: Iterable[Record] | None = None) -> SealedVersion | None:
        """The version `run` was sealed into, found from the versions' manifests (run id and records
        hash), whether or not the run was marked; None if it was never sealed. `records` (read once,
        as a stream): the records sealed, when not every record of the run."""
        if not self.versions(run.name):
            return None
        digest = records_digest(run.iter_records() if records is None else records)
        ident = self._identity(digest, run, None)
        return self._find_sealed(run.name, ident) if ident is not None else None

    def recognise_seal(self, run: Run) -> SealedVersion | None:
        """For a run not marked sealed: if a version holds its seal (a kill came between the rename and
        the mark), point LATEST at it when it lagged behind, mark the run, and return that version."""
        if run.sealed_as or self.sealed_version_of(run) is None:
            return None
        with _dataset_lock(self.dataset_dir(run.name)):
            found = self.sealed_version_of(run)
            if found is not None:
                self._adopt(found, run, int(found.manifest.counts.get("records", 0)))
        return found

    def _write_failed(self, exc: BaseException, name: str, version: int) -> StorageError | None:
        """A version that could not be written (full disk, read-only folder) as one line saying
        that nothing was sealed; None for any other error."""
        try:
            latest = self.latest(name)
        except InputError:
            latest = None
        kept = f"LATEST still v{latest}" if latest else "no LATEST written"
        return storage_error(
            exc,
            f"{format_ref(name, version)} to {self.dataset_dir(name)}",
            f"nothing was sealed ({kept}) and the partial copy was removed",
        )

    def _clean_temps(self, ddir: Path) -> None:
        """Remove temp folders left by seals that died before their rename (we hold the lock)."""
        for p in ddir.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)

    def _build_manifest(
        self, name: str, version: int, tally: RecordCounts, given: dict[str, Any]
    ) -> Manifest:
        fields = {k: v for k, v in given.items() if k not in STORE_FIELDS}
        fields["counts"] = {**tally.manifest_counts(), **(fields.get("counts") or {})}
        fields.setdefault("tokens_in", tally.tokens_in)
        fields.setdefault("tokens_out", tally.tokens_out)
        if "cost_usd" not in fields:
            fields["cost_usd"] = tally.cost_usd if tally.records else None
        fields.setdefault("validated", fields.get("stage", "generate") == "validate")
        command = redact_argv(list(fields.pop("command", None) or _default_command()))
        fields = {**redact(fields), "command": command}  # every field, whatever holds a secret
        try:
            return Manifest(
                name=name,
                version=version,
                created_at=utc_now(),
                rft_version=rft.__version__,
                git_commit=git_commit(),
                **fields,
            )
        except ValidationError as exc:
            raise ValueError(f"invalid manifest fields for {name}: {exc}") from exc

    @staticmethod
    def _write_data(tmp: Path, name: str, records: Iterable[Record]) -> tuple[FileEntry, str, RecordCounts]:
        """Write `records` (read once) to `tmp/data.jsonl`, each record hashed for the seal's identity
        and counted as it goes by: (the file's entry, the records' digest, their counts)."""
        w = _HashingWriter(tmp / DATA_FILE)
        values = known_secrets()
        digest = RecordsDigest()
        tally = RecordCounts()
        seen: set[str] = set()
        try:
            for r in records:
                if r.id in seen:
                    raise InputError(f"problem id {r.id!r} appears twice in the records to seal {name}")
                seen.add(r.id)
                text = r.model_dump_json()
                line = text.encode("utf-8")
                digest.add(line)
                tally.add(r)
                if r.outcome.error is not None or any(v in text for v in values):
                    line = (
                        Record.model_validate(redact_record(r.model_dump(mode="json"), values))
                        .model_dump_json()
                        .encode("utf-8")
                    )
                w.write(line + b"\n")
        finally:
            entry = w.close(rows=True)
        return entry, digest.hexdigest(), tally

    def _write_version(
        self,
        tmp: Path,
        name: str,
        version: int,
        data: FileEntry,
        tally: RecordCounts,
        given: dict[str, Any],
        card: str | Callable[[Manifest, RecordCounts], str] | None,
        extra: dict[str, bytes | str],
    ) -> Manifest:
        files: dict[str, FileEntry] = {DATA_FILE: data}
        m = self._build_manifest(name, version, tally, given)
        text = card(m, tally) if callable(card) else card if card is not None else default_card(m, tally)
        for fname, content in [(README, text), *extra.items()]:
            content = _redact_file(content)
            w = _HashingWriter(tmp / fname)
            w.write(content.encode("utf-8") if isinstance(content, str) else content)
            files[fname] = w.close(rows=fname.endswith(".jsonl"))
        m = m.model_copy(update={"files": files})
        m = m.model_copy(update={"manifest_sha256": manifest_digest(json.loads(m.model_dump_json()))})
        fsutil.write_durable(tmp / MANIFEST, (m.model_dump_json(indent=2) + "\n").encode("utf-8"))
        for p in tmp.iterdir():
            fsutil.make_read_only(p)
        fsutil.fsync_dir(tmp)
        return m

    # --- loading ---
    def resolve(self, name: str, version: int | None = None) -> tuple[int, Path]:
        """The version number and folder of `name@vN` (None = LATEST); NotFoundError otherwise."""
        ddir = self.dataset_dir(name)
        versions = self.versions(name)
        if not versions:
            known = ", ".join(d.name for d in self.list_datasets()) or "none"
            raise NotFoundError(f"no dataset {name!r} under {self.root} (datasets: {known})")
        if version is None:
            version = self.latest(name) or versions[-1]
        if version not in versions:
            have = ", ".join(f"v{v}" for v in versions)
            raise NotFoundError(f"dataset {name!r} has no v{version} (versions: {have})")
        return version, ddir / f"v{version}"

    def read_manifest(self, name: str, version: int | None = None) -> Manifest:
        _, path = self.resolve(name, version)
        p = path / MANIFEST
        try:
            raw = p.read_bytes()
            data = json.loads(raw)
        except OSError as exc:
            raise InputError(f"{p}: cannot read ({exc.strerror})") from exc
        except ValueError as exc:
            raise InputError(f"{p}: malformed JSON ({exc})") from exc
        # a manifest sealed before manifests were checksummed has no manifest_sha256: loaded, unverified
        if isinstance(data, dict) and data.get("manifest_sha256") is not None:
            digest = manifest_digest(data)
            if digest != data["manifest_sha256"]:
                raise ChecksumError(
                    f"{p}: checksum mismatch (manifest_sha256 {str(data['manifest_sha256'])[:12]}, "
                    f"content {digest[:12]}); the manifest was edited after sealing"
                )
        try:
            return Manifest.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            loc = ".".join(str(x) for x in first["loc"]) or "manifest"
            raise InputError(f"{p}: invalid manifest at {loc}: {first['msg']}") from exc

    def verify(self, path: Path, manifest: Manifest) -> None:
        """Check every file listed in the manifest against its sha256 and size."""
        if DATA_FILE not in manifest.files:
            raise ChecksumError(f"{path / MANIFEST}: lists no {DATA_FILE}")
        for fname, entry in manifest.files.items():
            p = path / fname
            if not p.is_file():
                raise ChecksumError(f"{p}: missing (listed in {MANIFEST})")
            digest = fsutil.sha256_file(p)
            if digest != entry.sha256:
                raise ChecksumError(
                    f"{p}: sha256 mismatch (manifest {entry.sha256[:12]}, file {digest[:12]}); "
                    "the file changed after sealing"
                )

    def load_version(self, name: str, version: int | None = None, *, verify: bool = True) -> LoadedVersion:
        version, path = self.resolve(name, version)
        m = self.read_manifest(name, version)
        if verify:
            self.verify(path, m)
        return LoadedVersion(name, version, path, m, read_records(path / DATA_FILE))

    def load_ref(self, ref: str, *, verify: bool = True) -> LoadedVersion:
        name, version = parse_ref(ref)
        return self.load_version(name, version, verify=verify)

    # --- merge / export ---
    def merge(
        self,
        out_name: str,
        refs: list[str],
        *,
        allow_unvalidated: bool = False,
        config: dict[str, Any] | None = None,
    ) -> SealedVersion:
        """Seal the union of several versions (e.g. shards) as the next version of `out_name`;
        `config`: the command's resolved config, recorded in the manifest beside the refs merged.

        A problem id seen twice keeps its first occurrence when the records are identical; different
        records for one id are an InputError naming the id and both versions. The merge is validated
        when every version merged is; an unvalidated merge that would replace a validated LATEST of
        `out_name` is a ConfigError unless `allow_unvalidated`."""
        check_name(out_name)
        if not refs:
            raise ConfigError("merge needs at least one NAME@vN to merge")
        loaded: list[LoadedVersion] = []
        for ref in refs:
            lv = self.load_ref(ref)
            if any(x.ref == lv.ref for x in loaded):
                raise ConfigError(f"{lv.ref} is given twice")
            loaded.append(lv)
        validated = all(lv.manifest.is_validated for lv in loaded)
        if not validated and not allow_unvalidated and self.versions(out_name):
            current = self.read_manifest(out_name)
            if current.is_validated:
                bad = [lv.ref for lv in loaded if not lv.manifest.is_validated]
                raise ConfigError(
                    f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not validated: merging into "
                    f"{out_name} would replace the validated {format_ref(out_name, current.version)} as "
                    f"its LATEST; validate first (rft validate {bad[0]}) or pass --allow-unvalidated"
                )
        records: list[Record] = []
        first: dict[str, tuple[str, Record]] = {}
        dropped = 0
        for lv in loaded:
            for r in lv.records:
                prev = first.get(r.id)
                if prev is None:
                    first[r.id] = (lv.ref, r)
                    records.append(r)
                elif prev[1] == r:
                    dropped += 1
                else:
                    raise InputError(
                        f"problem id {r.id!r} is in {prev[0]} and {lv.ref} with different records; "
                        "nothing was merged"
                    )
        parent_counts: dict[str, float] = {}
        for lv in loaded:
            for k, v in lv.manifest.counts.items():
                parent_counts[k] = parent_counts.get(k, 0) + v
        counts = {
            **parent_counts,
            **RecordCounts.of(records).manifest_counts(),
            "duplicates_dropped": dropped,
        }

        def common(values: list[str | None]) -> str | None:
            uniq = sorted({v for v in values if v})
            return ", ".join(uniq) if uniq else None

        manifest = {
            "stage": "merge",
            "parents": [lv.ref for lv in loaded],
            "counts": counts,
            "teacher": common([lv.manifest.teacher for lv in loaded]),
            "validator": common([lv.manifest.validator for lv in loaded]),
            "source_fingerprint": common([lv.manifest.source_fingerprint for lv in loaded]),
            "tokens_in": sum(lv.manifest.tokens_in for lv in loaded),
            "tokens_out": sum(lv.manifest.tokens_out for lv in loaded),
            "cost_usd": sum_cost(lv.manifest.cost_usd for lv in loaded),
            "config": {"merge": [lv.ref for lv in loaded], **(config or {})},
            "validated": validated,
        }
        # the same parents merged again (e.g. after a kill mid-seal) give back the same version
        identity = {"merge": [[lv.ref, lv.manifest.files[DATA_FILE].sha256] for lv in loaded]}
        return self.seal(out_name, records, manifest=manifest, identity=identity)

    def to_hf_dataset(self, loaded: LoadedVersion):  # -> datasets.Dataset (imported lazily: slow import)
        from rft.store.hf import to_hf_dataset

        return to_hf_dataset(loaded.records)

    def export(self, loaded: LoadedVersion, fmt: str, output: Path | str) -> Path:
        """Write the flat TRL-ready columns of `loaded` to `output` (atomically); `fmt` is a column
        set (EXPORT_FORMATS, file type from the suffix) or, as before, `jsonl`/`parquet`."""
        return self.export_records(loaded.records, fmt, output).path

    def export_records(self, records: list[Record], fmt: str, output: Path | str):  # -> hf.Exported
        from rft.store.hf import export_dataset

        return export_dataset(records, fmt, Path(output))


def read_records(path: Path) -> list[Record]:
    """Records of a data.jsonl file; a bad line is an InputError naming the file and line."""
    return [rec for _, _, rec in iter_records(path)]


__all__ = ["DatasetInfo", "LoadedVersion", "SealedVersion", "Store", "read_records"]


def _redact_file(content: bytes | str) -> bytes | str:
    """A text file (card, report) with secrets redacted; binary content as it is."""
    if isinstance(content, str):
        return redact_text(content)
    try:
        return redact_text(content.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        return content
