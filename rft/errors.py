"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

from rft.redaction import redact_text


class RftError(Exception):
    """Base class: a problem with the user's input, files, flags, keys or servers (not a bug)."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        # An error text may quote a server's body or a URL: secrets are scrubbed before it is shown or
        # stored (rft.redaction is the one place that knows what a secret looks like).
        super().__init__(*(redact_text(a) if isinstance(a, str) else a for a in args))


class InputError(RftError):
    """A file that cannot be read or parsed, a missing field, a bad value."""


class ConfigError(RftError):
    """A bad flag, option value or config file."""


class SealedVersionError(RftError):
    """An attempt to write into a sealed (immutable) dataset version."""


class ChecksumError(RftError):
    """A data file whose sha256 does not match its manifest."""


class NotFoundError(RftError):
    """A dataset, version, run or record that does not exist."""


class TeacherError(RftError):
    """A teacher that cannot be used: unknown provider, missing key, unreachable server, auth failure."""


class StorageError(RftError):
    """A file that cannot be written: the disk is full, the file system is read-only, no permission."""


def storage_reason(exc: BaseException) -> str | None:
    """What an OSError or sqlite3 error says about the disk in a few words ("the disk is full"), or
    None when it is some other error."""
    import errno
    import sqlite3

    if isinstance(exc, OSError):
        detail = exc.strerror or str(exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"the disk is full ({detail})"
        if exc.errno == errno.EROFS:
            return "the file system is read-only"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission denied"
        return None
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        if "disk is full" in text:
            return f"the disk is full ({exc})"
        if "readonly" in text or "read-only" in text:
            return f"the file or file system is read-only ({exc})"
    return None


def storage_error(exc: BaseException, target: object = None, then: str = "") -> StorageError | None:
    """The one-line StorageError for a write that failed because of the disk ("cannot write TARGET:
    the disk is full (...); THEN"), or None for any other error. TARGET defaults to the file the
    error names."""
    reason = storage_reason(exc)
    if reason is None:
        return None
    verb = "cannot write"
    if target is None:  # the central safety net: the failed call is not known to be a write
        target = getattr(exc, "filename", None) or "to disk"
        if reason == "permission denied":
            verb = "cannot access"
    return StorageError(f"{verb} {target}: {reason}" + (f"; {then}" if then else ""))


def write_error(exc: OSError, target: object, then: str = "") -> RftError:
    """The one line for a failed write of `target`: the StorageError when the disk is the reason,
    else an InputError with what the system said."""
    return storage_error(exc, target, then) or InputError(f"cannot write {target}: {exc.strerror or exc}")
