"""The connection to the cluster, and the one place kubernetes_asyncio's errors are translated.

Where the cluster is, as GitLab Runner decides it: `host` (with `bearer_token`, `ca_file`,
`cert_file`/`key_file`) when configured; else the in-cluster service account when running in a
pod; else the kubeconfig (`KUBECONFIG`, else ~/.kube/config, its `context` or the current one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from kubernetes_asyncio import config as kube_config
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.config.config_exception import ConfigException

from glrunner.errors import ExecutorError, JobConfigurationError
from glrunner.model.spec import KubernetesOptions

T = TypeVar("T")

IN_CLUSTER_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
# Statuses that retrying cannot fix: the request or the runner's rights are wrong.
_CONFIGURATION_STATUSES = {400, 401, 403, 422}


def _explicit_host(opts: KubernetesOptions) -> Configuration:
    cfg = Configuration()
    cfg.host = opts.host if "://" in opts.host else f"https://{opts.host}"
    if opts.bearer_token:
        cfg.api_key = {"BearerToken": f"Bearer {opts.bearer_token}"}
    if opts.ca_file:
        cfg.ssl_ca_cert = opts.ca_file
    if opts.cert_file:
        cfg.cert_file = opts.cert_file
    if opts.key_file:
        cfg.key_file = opts.key_file
    return cfg


def _in_cluster() -> bool:
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and IN_CLUSTER_TOKEN.is_file()


async def load_configuration(opts: KubernetesOptions) -> Configuration:
    """Read where the cluster is and how to authenticate (files and environment: the edge)."""
    if opts.host:
        return _explicit_host(opts)
    cfg = Configuration()
    try:
        if _in_cluster():
            kube_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
            return cfg
        path = opts.kubeconfig or os.environ.get("KUBECONFIG") or str(Path.home() / ".kube" / "config")
        await kube_config.load_kube_config(config_file=path, context=opts.context or None,
                                           client_configuration=cfg, persist_config=False)
    except (ConfigException, OSError, ValueError) as exc:
        raise JobConfigurationError(
            f"no usable Kubernetes configuration: {exc}. Set `host` (and `bearer_token`, `ca_file`) in "
            "[runners.kubernetes], or point KUBECONFIG at a kubeconfig file"
        ) from exc
    return cfg


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 404


def is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, ApiException) and exc.status == 409


def describe(exc: ApiException) -> str:
    """The API's own message (`pods "x" is forbidden: ...`), else the HTTP status."""
    message = ""
    try:
        body: Any = json.loads(exc.body) if exc.body else {}
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
    except (ValueError, TypeError):
        message = str(exc.body or "")
    return f"{exc.status} {exc.reason}: {message}" if message else f"{exc.status} {exc.reason}"


def translate(what: str, exc: BaseException) -> ExecutorError | JobConfigurationError:
    if isinstance(exc, ApiException):
        text = f"{what}: {describe(exc)}"
        if exc.status in _CONFIGURATION_STATUSES:
            return JobConfigurationError(text)
        return ExecutorError(text)
    return ExecutorError(f"{what}: {exc or type(exc).__name__}")


async def call(what: str, awaitable: Awaitable[T]) -> T:
    """Await an API call; cluster failures become ExecutorError (retried) or, when retrying cannot
    help (bad request, no permission), JobConfigurationError, saying what we were doing."""
    try:
        return await awaitable
    except (ApiException, aiohttp.ClientError, OSError) as exc:
        raise translate(what, exc) from exc
