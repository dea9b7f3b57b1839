"""Facts about a local working tree, for `glrunner exec`: the edge where git and the clock are read."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from glrunner.ci import PipelineContext
from glrunner.model.payload import JobVariable, LocalSource

_REMOTE_PATH = re.compile(r"^(?:[a-z+]+://[^/]+/|[^@/]+@[^:]+:)(?P<path>.+?)(?:\.git)?/?$")


@dataclass(frozen=True)
class GitFacts:
    sha: str = ""
    before_sha: str = ""
    branch: str = ""
    tag: str = ""
    message: str = ""
    author: str = ""
    timestamp: str = ""
    remote_path: str = ""
    files: tuple[str, ...] = ()


def _git(root: Path, *args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 else None


def project_path_from_remote(url: str) -> str:
    """`git@host:group/sub/project.git` or `https://host/group/project` -> `group/sub/project`."""
    match = _REMOTE_PATH.match(url.strip())
    return match.group("path") if match else ""


def read_git_facts(root: Path) -> GitFacts | None:
    top = _git(root, "rev-parse", "--show-toplevel")
    if top is None or Path(top.strip()).resolve() != root.resolve():
        return None
    listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard") or ""
    files = tuple(sorted({f for f in listed.split("\0") if f}))
    sha = (_git(root, "rev-parse", "-q", "--verify", "HEAD") or "").strip()
    log = (_git(root, "log", "-1", "--format=%an <%ae>%x00%cI%x00%B") or "").split("\0") if sha else []
    return GitFacts(
        sha=sha,
        before_sha=(_git(root, "rev-parse", "-q", "--verify", "HEAD~1") or "").strip(),
        branch=(_git(root, "symbolic-ref", "-q", "--short", "HEAD") or "").strip(),
        tag=(_git(root, "describe", "--tags", "--exact-match", "HEAD") or "").strip() if sha else "",
        message=log[2].strip() if len(log) > 2 else "",
        author=log[0] if log else "",
        timestamp=log[1] if len(log) > 1 else "",
        remote_path=project_path_from_remote((_git(root, "remote", "get-url", "origin") or "").strip()),
        files=files,
    )


def _all_files(root: Path) -> tuple[str, ...]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = [d for d in dirnames if not (rel == "." and d == ".git")]
        out += [os.path.normpath(os.path.join(rel, f)) for f in filenames]
        out += [os.path.normpath(os.path.join(rel, d)) for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
    return tuple(sorted(out))


def build_context(
    root: Path, extra_variables: tuple[JobVariable, ...], *, config_path: str = ".gitlab-ci.yml"
) -> PipelineContext:
    root = root.resolve()
    git = read_git_facts(root)
    now = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    zero = "0" * 40
    if git is None:
        git = GitFacts(files=_all_files(root))
    ref = git.branch or git.tag or "main"
    title = git.message.splitlines()[0] if git.message else ""
    return PipelineContext(
        project_path=git.remote_path or f"local/{root.name}",
        project_dir_name=root.name,
        pipeline_id=int(datetime.now(UTC).timestamp()) % 1_000_000_000,
        commit_sha=git.sha or zero,
        before_sha=git.before_sha or zero,
        ref_name=ref,
        ref_is_tag=bool(git.tag and not git.branch),
        commit_message=git.message,
        commit_title=title,
        commit_author=git.author,
        commit_timestamp=git.timestamp or now,
        default_branch=git.branch or "main",
        created_at=now,
        job_token=f"glcbt-{secrets.token_hex(10)}",
        config_path=config_path,
        extra_variables=extra_variables,
        local_source=LocalSource(path=str(root), files=git.files),
    )
