"""The executor registry: an explicit map from executor name to its class, imported on use."""

from __future__ import annotations

import importlib

from glrunner.errors import JobConfigurationError
from glrunner.model.spec import JobSpec
from glrunner.runner.job import Executor

EXECUTORS: dict[str, tuple[str, str]] = {
    "docker": ("glrunner.executors.docker.executor", "DockerExecutor"),
    "kubernetes": ("glrunner.executors.kubernetes.executor", "KubernetesExecutor"),
}


def create_executor(spec: JobSpec) -> Executor:
    entry = EXECUTORS.get(spec.executor)
    if entry is None:
        raise JobConfigurationError(f"executor {spec.executor!r} is not supported; use one of: {', '.join(EXECUTORS)}")
    module = importlib.import_module(entry[0])
    executor: Executor = getattr(module, entry[1])()
    return executor
