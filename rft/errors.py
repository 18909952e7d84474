"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class RftError(Exception):
    """Base class: a problem with the user's input, files, flags, keys or servers (not a bug)."""

    exit_code = 2

    def __init__(self, *args: object) -> None:
        # An error text may quote a server's body or a URL: secrets are scrubbed before it is shown or
        # stored (rft.store.redaction is the one place that knows what a secret looks like).
        from rft.store.redaction import redact_text

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
