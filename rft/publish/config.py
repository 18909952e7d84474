"""Configs of `rft publish` and `rft datasets card`, beside the code that publishes. The CLI options
come from these declarations; `--config FILE` loads them (rft/config.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import ClassVar

from pydantic import ConfigDict, Field

from rft.errors import ConfigError
from rft.redaction import env_name_problem
from rft.store.config import StoreConfig, store_root

# owner/name as the Hub spells it: letters, digits, '-', '_', '.'; no '--' or '..'; at most 96 characters
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


def check_repo_id(repo_id: str | None, flag: str = "--repo-id") -> str:
    """`repo_id` when it is `owner/name`; a ConfigError naming the flag otherwise."""
    if (
        not repo_id
        or not REPO_ID_RE.match(repo_id)
        or len(repo_id) > 96
        or "--" in repo_id
        or ".." in repo_id
        or repo_id.endswith((".", "-"))
    ):
        raise ConfigError(
            f"{flag} must be a Hub repository id owner/name (e.g. alice/gsm8k-traces), got {repo_id!r}"
        )
    return repo_id


class CardConfig(StoreConfig):
    """What the dataset card of a version depends on besides the version itself."""

    model_config = ConfigDict(extra="forbid")
    SECTION: ClassVar[str | None] = "card"

    repo_id: str | None = Field(
        default=None, description="the Hub repository the card tells users to load from (owner/name)"
    )
    license: str | None = Field(
        default=None,
        description="license of the dataset (a Hub license id such as mit or cc-by-4.0); required when a "
        "problem source's license is unknown",
    )


class PublishConfig(CardConfig):
    """`rft publish`: a dataset version, or a trained adapter, to the Hugging Face Hub."""

    SECTION: ClassVar[str | None] = "publish"

    out: Path = store_root(
        "root folder of the dataset store (an adapter: the store its dataset was published from, whose "
        "record of that publication links the adapter to the dataset repository)"
    )

    repo_id: str = Field(description="the Hub repository to publish to (owner/name)")  # type: ignore[assignment]
    private: bool = Field(default=False, description="create the repository private (when it does not exist)")
    token_env: str = Field(
        default="HF_TOKEN", description="the NAME of the environment variable that holds the Hub token"
    )
    allow_unvalidated: bool = Field(
        default=False,
        description="publish a version that never went through `rft validate` (the card says so first)",
    )
    dry_run: bool = Field(
        default=False,
        description="write the exact folder that would be uploaded, print its path, upload nothing",
    )
    folder: Path | None = Field(
        default=None,
        description="with --dry-run: write the folder here (default: OUT/NAME/publish/vN for a dataset, "
        "RUNS/NAME/publish/VARIANT for an adapter)",
    )
    endpoint: str | None = Field(
        default=None, description="Hub endpoint (default: $HF_ENDPOINT or https://huggingface.co)"
    )
    evals: Path = Field(
        default=Path("evals"),
        description="root of `rft eval` results: an adapter's card shows the ones of it",
    )

    def check(self) -> None:
        check_repo_id(self.repo_id)
        problem = env_name_problem(self.token_env)
        if problem:
            raise ConfigError(f"--token-env {problem}")
