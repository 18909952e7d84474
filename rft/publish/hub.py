"""The Hugging Face Hub boundary: every call `rft publish` makes to the Hub is here, through
`huggingface_hub.HfApi`, in this order:

1. `list_repo_refs`: is the tag there already? If it is, `hf_hub_download` reads its `rft_publish.json`:
   the same version (same checksums) is a no-op, anything else under that tag is refused (never moved);
2. `create_repo(exist_ok=True)`;
3. `upload_folder`: the whole folder as one commit (files of an earlier version that this one does not
   have are deleted in the same commit; the earlier version stays reachable under its own tag);
4. `create_tag` on that commit. A failure before it leaves no tag; a failure of the tag itself is
   reported as such (the commit is on the branch, untagged, and the same command tags it).

Errors are one line (HubError, exit 2): the Hub unreachable, the token refused, no write access."""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rft.errors import RftError
from rft.publish.layout import MARKER, Bundle


class HubError(RftError):
    """The Hub could not be reached, refused the token, or holds something else under the tag."""


@dataclass
class Pushed:
    repo_id: str
    repo_type: str  # dataset | model
    tag: str
    commit: str | None  # the commit tagged (None: nothing was uploaded, the tag was there)
    url: str
    noop: bool = False


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def hub_errors(repo_id: str, endpoint: str, token_env: str, doing: str, then: str) -> Iterator[None]:
    """Turn what huggingface_hub raises into one HubError line: what was being done, why it failed,
    and what state the repository is left in (`then`)."""
    from huggingface_hub.errors import HfHubHTTPError, HTTPError, RepositoryNotFoundError

    try:
        yield
    except RepositoryNotFoundError as exc:
        raise HubError(
            f"{doing} {repo_id}: not found, or the token in ${token_env} has no access to it; {then}"
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status == 401:
            why = f"the Hub refused the token in ${token_env} (401: invalid or expired)"
        elif status == 403:
            why = f"the token in ${token_env} may not write to {repo_id} (403)"
        else:
            why = f"the Hub answered {status}: {_first_line(exc)}"
        raise HubError(f"{doing} {repo_id}: {why}; {then}") from exc
    except (HTTPError, OSError) as exc:  # connection refused, DNS, timeout, TLS
        raise HubError(
            f"{doing} {repo_id}: cannot reach the Hub at {endpoint} ({_first_line(exc)}); {then}"
        ) from exc


def _repo_type_url(repo_type: str) -> str:
    return "datasets/" if repo_type == "dataset" else ""


def tagged_marker(api: Any, repo_id: str, repo_type: str, tag: str, token: str) -> dict[str, Any] | None:
    """The `rft_publish.json` of the repository at `tag`; None when the repository or the tag does not
    exist; {} when the tag exists but holds no marker (not published by rft)."""
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    try:
        refs = api.list_repo_refs(repo_id, repo_type=repo_type, token=token)
    except RepositoryNotFoundError:
        return None
    if tag not in {t.name for t in refs.tags}:
        return None
    with tempfile.TemporaryDirectory(prefix="rft-publish-") as cache:
        try:
            path = api.hf_hub_download(
                repo_id, MARKER, repo_type=repo_type, revision=tag, token=token, cache_dir=cache
            )
        except EntryNotFoundError:
            return {}
        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except ValueError:
            return {}
    return data if isinstance(data, dict) else {}


def same_publication(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two markers name the same thing: the same kind, ref and checksums."""
    keys = ("kind", "ref", "manifest_sha256", "data_sha256", "identity", "adapter_sha256")
    return bool(a) and all(a.get(k) == b.get(k) for k in keys)


def push(
    bundle: Bundle,
    *,
    repo_id: str,
    repo_type: str,
    token: str,
    token_env: str,
    private: bool,
    endpoint: str | None,
) -> Pushed:
    """Publish `bundle.folder` to `repo_id` and tag the commit `bundle.tag` (see the module doc)."""
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint)
    where = api.endpoint
    url = f"{where.rstrip('/')}/{_repo_type_url(repo_type)}{repo_id}"
    tag = bundle.tag
    nothing = "nothing was uploaded or tagged"
    with hub_errors(repo_id, where, token_env, "cannot read the tags of", nothing):
        found = tagged_marker(api, repo_id, repo_type, tag, token)
    if found is not None:
        if same_publication(found, bundle.marker):
            return Pushed(repo_id, repo_type, tag, None, f"{url}/tree/{tag}", noop=True)
        what = found.get("ref") or "files rft did not publish"
        raise HubError(
            f"{repo_id} already has a tag {tag} holding {what} (other checksums); a tag is never moved: "
            f"publish to another repository; {nothing}"
        )
    with hub_errors(repo_id, where, token_env, "cannot create", nothing):
        api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, token=token)
    with hub_errors(repo_id, where, token_env, "cannot upload to", f"{nothing} (the upload is one commit)"):
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=str(bundle.folder),
            repo_type=repo_type,
            commit_message=f"rft publish {bundle.ref} ({tag})",
            commit_description=json.dumps(bundle.marker, sort_keys=True),
            delete_patterns="*",  # what an earlier version had and this one has not (.gitattributes stays)
            token=token,
        )
    commit = getattr(info, "oid", None)
    untagged = (
        f"the upload is commit {str(commit)[:12]} on the main branch, untagged, and no tag {tag} exists: "
        "run the same command again to tag it"
    )
    with hub_errors(repo_id, where, token_env, f"uploaded, but cannot tag {tag} in", untagged):
        api.create_tag(
            repo_id,
            tag=tag,
            revision=commit,
            repo_type=repo_type,
            token=token,
            tag_message=f"rft publish {bundle.ref}",
        )
    return Pushed(repo_id, repo_type, tag, commit, f"{url}/tree/{tag}")
