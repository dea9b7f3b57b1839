"""Getting the project's files to `CI_PROJECT_DIR`, as a tar archive the executor unpacks.

Local mode copies the working tree (the files the edge listed, plus `.git` so that git commands
work in the job, as they do in a GitLab clone). Runner mode clones `git_info.repo_url` on the
runner host (GIT_STRATEGY, GIT_DEPTH honoured) and ships the checkout the same way; GitLab does
this in a helper container, we do it where git already is, so no helper image is needed.
"""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
import tempfile
import time
from pathlib import Path

from glrunner.errors import JobError
from glrunner.model.spec import JobSpec, SourceSpec
from glrunner.trace.log import JobLog


def _add_dir_entry(tar: tarfile.TarFile, name: str, mode: int = 0o777) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info)


def _parents(relative: str) -> list[str]:
    parts = Path(relative).parts[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def archive_tree(root: Path, files: list[str], dest: str) -> tuple[bytes, int]:
    """Pack `files` (relative to `root`) under `dest`; return the tar and the byte count."""
    buffer = io.BytesIO()
    prefix = dest.strip("/")
    total = 0
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        made: set[str] = set()
        for part in _parents(prefix + "/x"):
            _add_dir_entry(tar, part)
            made.add(part)
        _add_dir_entry(tar, prefix)
        made.add(prefix)
        for relative in files:
            path = root / relative
            if not os.path.lexists(path):
                continue  # deleted in the working tree but still tracked
            for parent in _parents(relative):
                name = f"{prefix}/{parent}"
                if name not in made:
                    _add_dir_entry(tar, name, 0o755)
                    made.add(name)
            info = tar.gettarinfo(str(path), arcname=f"{prefix}/{relative}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if info.isreg():
                total += info.size
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
            elif info.issym() or info.isdir():
                tar.addfile(info)
    return buffer.getvalue(), total


def _walk(root: Path, top: str) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root / top):
        rel_dir = os.path.relpath(dirpath, root)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        out += [os.path.normpath(os.path.join(rel_dir, d)) for d in links]
        out += [os.path.normpath(os.path.join(rel_dir, f)) for f in filenames]
    return out


async def local_tree_archive(spec: JobSpec, log: JobLog) -> bytes | None:
    source = spec.source
    root = Path(source.local_path)
    if source.strategy in ("none", "empty"):
        log.plain(f'Skipping Git repository setup ("{source.strategy}" strategy)')
        archive, _ = await asyncio.to_thread(archive_tree, root, [], spec.project_dir)
        return archive
    files = list(source.files)
    if (root / ".git").is_dir():
        files += await asyncio.to_thread(_walk, root, ".git")
    archive, size = await asyncio.to_thread(archive_tree, root, files, spec.project_dir)
    log.plain(f"Copying the working tree {root} ({len(source.files)} files, {size / 1024:.0f} KiB) "
              f"to {spec.project_dir}")
    return archive


async def _git(args: list[str], cwd: str, secret: str) -> str:
    process = await asyncio.create_subprocess_exec(
        "git", *args, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_LFS_SKIP_SMUDGE": "1"},
    )
    output, _ = await process.communicate()
    text = output.decode("utf-8", "replace")
    if secret:
        text = text.replace(secret, "[MASKED]")
    if process.returncode != 0:
        raise JobError(f"git {args[0]} failed: {text.strip()}")
    return text


def _credential(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).password or ""


async def git_checkout_archive(spec: JobSpec, log: JobLog) -> bytes | None:
    source: SourceSpec = spec.source
    if source.strategy in ("none", "empty"):
        log.plain(f'Skipping Git repository setup ("{source.strategy}" strategy)')
        archive, _ = await asyncio.to_thread(archive_tree, Path("/"), [], spec.project_dir)
        return archive
    secret = _credential(source.repo_url)
    with tempfile.TemporaryDirectory(prefix="glrunner-src-") as work:
        log.plain(f"Fetching changes{f' with git depth set to {source.depth}' if source.depth else ''}...")
        log.plain(f"Initialized empty Git repository in {spec.project_dir}/.git/")
        await _git(["init", "-q", "."], work, secret)
        await _git(["remote", "add", "origin", source.repo_url], work, secret)
        refspecs = list(source.refspecs) or [f"+{source.sha}" if source.sha else "+HEAD"]
        depth = [f"--depth={source.depth}"] if source.depth else []
        log.plain("Created fresh repository.")
        await _git(["fetch", "-q", "--prune", *depth, "origin", *refspecs], work, secret)
        log.plain(f"Checking out {source.sha[:8]} as detached HEAD (ref is {source.ref})...")
        await _git(["-c", "advice.detachedHead=false", "checkout", "-q", "-f", source.sha or "FETCH_HEAD"],
                   work, secret)
        await _git(["remote", "set-url", "origin", source.repo_url], work, secret)
        files = await asyncio.to_thread(_walk, Path(work), ".")
        archive, _ = await asyncio.to_thread(archive_tree, Path(work), files, spec.project_dir)
        log.plain("Skipping Git submodules setup")
        return archive


async def provide_sources(spec: JobSpec, log: JobLog) -> bytes | None:
    if spec.source.kind == "local":
        return await local_tree_archive(spec, log)
    if spec.source.kind == "git":
        return await git_checkout_archive(spec, log)
    return None
