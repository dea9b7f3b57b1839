"""Git repositories of the fake GitLab, served over git's smart HTTP protocol by `git http-backend`.

GitLab's `repo_url` is `http://gitlab-ci-token:<job token>@host/<namespace>/<project>.git`. Git's
"dumb" protocol cannot serve a shallow fetch (`GIT_DEPTH`, the payload's `depth`), so the smart
one is used: each request is handed to `git http-backend` as a CGI call. Like GitLab, the server
asks for credentials (401) and accepts only `gitlab-ci-token` with the token of a job it handed out.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from pathlib import Path

from tests.fakegitlab.routing import Reply, Router
from tests.fakegitlab.state import GitLabState, RecordedRequest

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fake GitLab", "GIT_AUTHOR_EMAIL": "fake@gitlab.invalid",
    "GIT_COMMITTER_NAME": "Fake GitLab", "GIT_COMMITTER_EMAIL": "fake@gitlab.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}


def add_routes(router: Router) -> None:
    router.add("GET", "/{namespace}/{project}/info/refs", serve_git)
    router.add("POST", "/{namespace}/{project}/git-upload-pack", serve_git)


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV},
                            capture_output=True, text=True, check=True)
    return result.stdout.strip()


def add_project(state: GitLabState, path: str, files: dict[str, str], branch: str = "main") -> str:
    """Create `<path>.git` (one commit holding `files`) and return the commit's sha."""
    with state.lock:
        if state.git_root is None:
            state.git_root = tempfile.mkdtemp(prefix="fake-gitlab-git-")
        root = Path(state.git_root)
    bare = root / f"{path}.git"
    bare.mkdir(parents=True)
    _git("init", "-q", "--bare", f"--initial-branch={branch}", ".", cwd=bare)
    with tempfile.TemporaryDirectory(prefix="fake-gitlab-work-") as work:
        tree = Path(work)
        _git("init", "-q", f"--initial-branch={branch}", ".", cwd=tree)
        for name, text in files.items():
            target = tree / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        _git("add", "-A", cwd=tree)
        _git("commit", "-q", "-m", "Initial commit", cwd=tree)
        _git("push", "-q", str(bare), f"HEAD:refs/heads/{branch}", cwd=tree)
        return _git("rev-parse", "HEAD", cwd=tree)


def _known_job_token(state: GitLabState, authorization: str) -> bool:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return False
    with state.lock:
        tokens = {job.token for job in state.jobs.values() if job.status in ("running", "canceling")}
    return user == "gitlab-ci-token" and password in tokens


def serve_git(state: GitLabState, request: RecordedRequest, params: dict[str, str]) -> Reply:
    if state.git_root is None or not params["project"].endswith(".git"):
        return Reply.json(404, {"message": "404 Project Not Found"})
    authorization = request.headers.get("authorization", "")
    if not authorization:
        return Reply(401, b"HTTP Basic: Access denied\n", {"WWW-Authenticate": 'Basic realm="GitLab"'})
    if not _known_job_token(state, authorization):
        return Reply(403, b"HTTP Basic: Access denied\n", {})
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_PROJECT_ROOT": state.git_root,
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": request.method,
        "PATH_INFO": request.path,
        "QUERY_STRING": "&".join(f"{k}={v}" for k, values in request.query.items() for v in values),
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
        "HTTP_GIT_PROTOCOL": request.headers.get("git-protocol", ""),
        "REMOTE_USER": "gitlab-ci-token",
        "REMOTE_ADDR": "127.0.0.1",
    }
    result = subprocess.run(["git", "http-backend"], input=request.body, env=env, capture_output=True, check=False)
    return _cgi_reply(result.stdout)


def _cgi_reply(output: bytes) -> Reply:
    head, sep, body = output.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = output.partition(b"\n\n")
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return Reply(status, body, headers)
