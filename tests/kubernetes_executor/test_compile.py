"""The Kubernetes compiler's rules (spec 1.9, 5), one at a time, on the pure layers only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glrunner.compile import CompileContext, compile_job
from glrunner.config import parse_config
from glrunner.errors import JobConfigurationError
from glrunner.executors.kubernetes import build
from glrunner.model.codec import parse_payload
from glrunner.model.spec import JobSpec

CONTEXT = CompileContext(job_uid="fedcba9876543210")


def compile_with(kubernetes: str = "", *, variables: list[dict[str, Any]] | None = None,
                 services: list[dict[str, Any]] | None = None, image: dict[str, Any] | None = None,
                 token: str = "glrt-unitkubernetes0001", extra: str = "", after_script: bool = False) -> JobSpec:
    config = parse_config(f"""[[runners]]
  name = "unit"
  url = "https://gitlab.example.com"
  token = "{token}"
  executor = "kubernetes"
{extra}  [runners.kubernetes]
    image = "alpine:3.19"
{kubernetes}""", "config.toml", env={})
    steps = [{"name": "script", "script": ["true"]}]
    if after_script:
        steps.append({"name": "after_script", "script": ["echo after"]})
    payload = parse_payload({
        "id": 7, "job_info": {"name": "unit", "project_id": 3, "project_name": "p"},
        "git_info": {"repo_url": "https://gitlab.example.com/g/p.git", "sha": "abc"},
        "runner_info": {"timeout": 600},
        "variables": variables or [], "steps": steps, "image": image or {}, "services": services or [],
    })
    return compile_job(payload, config.find_runner(None), CONTEXT)


def pod(spec: JobSpec) -> dict[str, Any]:
    return build.pod_body(spec)


def containers(spec: JobSpec) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in pod(spec)["spec"]["containers"]}


def test_non_public_values_reach_the_script_but_not_the_pod() -> None:
    """Spec 5: build env = public + internal; the rest only through the stage script's exports."""
    spec = compile_with(variables=[
        {"key": "PUBLIC_ONE", "value": "shown", "public": True},
        {"key": "PROJECT_SECRET", "value": "never-in-pod-spec", "public": False, "masked": True},
    ], services=[{"name": "postgres:15"}])
    body = json.dumps(pod(spec))
    assert "shown" in body
    assert "never-in-pod-spec" not in body
    assert any(v.key == "PROJECT_SECRET" and v.value == "never-in-pod-spec" for v in spec.script.variables)
    assert ("CI_PROJECT_DIR", "/builds/g/p") in spec.env  # runner-internal


def test_service_variables_may_use_non_public_values() -> None:
    """Spec 3.3/2.5: a service's own variables are expanded against all job variables."""
    spec = compile_with(variables=[{"key": "PW", "value": "pw-secret", "public": False}],
                        services=[{"name": "postgres:15", "variables": [{"key": "POSTGRES_PASSWORD", "value": "$PW"}]}])
    env = {e["name"]: e["value"] for e in containers(spec)["svc-0"]["env"]}
    assert env["POSTGRES_PASSWORD"] == "pw-secret"
    assert "PW" not in env


def test_healthcheck_port_counts_only_from_the_service_itself() -> None:
    """Spec 5: job-level HEALTHCHECK_TCP_PORT is not consulted on Kubernetes (unlike Docker)."""
    spec = compile_with(variables=[{"key": "HEALTHCHECK_TCP_PORT", "value": "5432"}],
                        services=[{"name": "postgres:15"},
                                  {"name": "redis:7", "alias": "cache",
                                   "variables": [{"key": "HEALTHCHECK_TCP_PORT", "value": "6379"}]}])
    ports = {s.container_suffix: s.health_ports for s in spec.services}
    assert ports == {"cache": (6379,), "svc-0": None}


def test_container_names_and_host_aliases() -> None:
    spec = compile_with(services=[
        {"name": "postgres:15", "alias": "db.internal"},  # a subdomain, not a label: svc-0
        {"name": "tutum/wordpress"},  # tutum__wordpress is no DNS name; tutum-wordpress is
        {"name": "redis:7", "alias": "build"},  # "build" is the build container's name
    ])
    assert [s.container_suffix for s in spec.services] == ["svc-0", "svc-1", "svc-2"]
    aliases = pod(spec)["spec"]["hostAliases"]
    assert aliases == [{"ip": "127.0.0.1",
                        "hostnames": ["postgres", "db.internal", "tutum-wordpress", "redis", "build"]}]


def test_invalid_user_alias_fails_the_job() -> None:
    with pytest.raises(JobConfigurationError, match=r"host alias My_DB .* services\[0\]\.alias"):
        compile_with(services=[{"name": "postgres:15", "alias": "My_DB"}])


def test_entrypoint_and_command_of_services_and_the_build_image() -> None:
    spec = compile_with(image={"name": "alpine:3.19", "entrypoint": ["/bin/ignored"]},
                        services=[{"name": "postgres:15", "entrypoint": ["/entry"], "command": ["-c", "x=1"]}])
    made = containers(spec)
    assert made["build"]["command"][:2] == ["sh", "-c"] and "args" not in made["build"]
    assert made["svc-0"]["command"] == ["/entry"] and made["svc-0"]["args"] == ["-c", "x=1"]


def test_honor_entrypoint_flag_keeps_image_entrypoints() -> None:
    spec = compile_with(services=[{"name": "postgres:15", "entrypoint": ["/entry"], "command": ["-c"]}],
                        extra="  [runners.feature_flags]\n    FF_KUBERNETES_HONOR_ENTRYPOINT = true\n")
    made = containers(spec)
    assert "command" not in made["build"] and made["build"]["args"][:2] == ["sh", "-c"]
    assert "command" not in made["svc-0"] and "args" not in made["svc-0"]


def test_pull_policies_map_to_kubernetes_names_or_stay_unset() -> None:
    assert "imagePullPolicy" not in containers(compile_with())["build"]
    spec = compile_with('    pull_policy = ["if-not-present", "always"]\n')
    assert containers(spec)["build"]["imagePullPolicy"] == "IfNotPresent"
    with pytest.raises(JobConfigurationError, match="allowed_pull_policies"):
        compile_with('    pull_policy = ["never"]\n', image={"name": "alpine:3.19", "pull_policy": ["always"]})


def test_pod_name_is_cut_to_54_plus_random_suffix() -> None:
    spec = compile_with(token="glrt-" + "a" * 40)
    name = build.pod_name(spec)
    assert len(name) <= 63 and name.endswith("-fedcba98")
    assert name == spec.kubernetes.pod_name_prefix + "-fedcba98"  # type: ignore[union-attr]
    assert build.pod_name(spec, attempt=1) != name


def test_deadline_is_the_timeout_plus_one_and_leaves_after_script_its_time() -> None:
    assert pod(compile_with())["spec"]["activeDeadlineSeconds"] == 601
    assert pod(compile_with(after_script=True))["spec"]["activeDeadlineSeconds"] == 601 + 300
    off = compile_with(extra="  [runners.feature_flags]\n    FF_USE_POD_ACTIVE_DEADLINE_SECONDS = false\n")
    assert "activeDeadlineSeconds" not in pod(off)["spec"]


def test_values_with_dollars_reach_the_container_unchanged() -> None:
    """The kubelet expands $(NAME) in env values; doubling `$` keeps them as the job has them."""
    spec = compile_with(variables=[{"key": "PRICE", "value": "$(NOT_A_VAR) $$", "raw": True}])
    env = {e["name"]: e["value"] for e in containers(spec)["build"]["env"]}
    assert env["PRICE"] == "$$(NOT_A_VAR) $$$$"


@pytest.mark.parametrize(("kubernetes", "message"), [
    ('    cpu_limit = "two"\n', r"cpu_limit: 'two' is not a Kubernetes quantity"),
    ("    privileged = true\n    allow_privilege_escalation = false\n", "allow_privilege_escalation"),
    ('    [[runners.kubernetes.volumes.empty_dir]]\n      name = "repo"\n      mount_path = "/x"\n',
     "two volumes are named 'repo'"),
    ('    [[runners.kubernetes.volumes.empty_dir]]\n      name = "a"\n      mount_path = "/x"\n'
     '    [[runners.kubernetes.volumes.empty_dir]]\n      name = "b"\n      mount_path = "/x"\n',
     'container path "/x" is already defined'),
    ('    namespace = "Bad_Namespace"\n', "not a valid namespace name"),
])
def test_configuration_errors_say_what_and_how(kubernetes: str, message: str) -> None:
    with pytest.raises(JobConfigurationError, match=message):
        compile_with(kubernetes)


def test_namespace_overwrite_only_where_allowed() -> None:
    wanted = [{"key": "KUBERNETES_NAMESPACE_OVERWRITE", "value": "ci-feature"}]
    assert compile_with(variables=wanted).kubernetes.namespace == "default"  # type: ignore[union-attr]
    allowed = compile_with('    namespace_overwrite_allowed = "ci-.*"\n', variables=wanted)
    assert allowed.kubernetes.namespace == "ci-feature"  # type: ignore[union-attr]
    with pytest.raises(JobConfigurationError, match="namespace_overwrite_allowed"):
        compile_with('    namespace_overwrite_allowed = "^prod-"\n', variables=wanted)


def test_builds_dir_volume_replaces_repo() -> None:
    spec = compile_with('    [[runners.kubernetes.volumes.pvc]]\n      name = "work"\n      mount_path = "/builds"\n')
    names = [v["name"] for v in pod(spec)["spec"]["volumes"]]
    assert names == ["work", "scripts"]


def test_pod_labels_cannot_take_the_runners_own() -> None:
    spec = compile_with('    [runners.kubernetes.pod_labels]\n      "io.glrunner.job-uid" = "x"\n      team = "a b"\n')
    labels = pod(spec)["metadata"]["labels"]
    assert labels["io.glrunner.job-uid"] == "fedcba9876543210"
    assert labels["team"] == "a_b"
    assert any("not setting pod label 'io.glrunner.job-uid'" in w for w in spec.warnings)
