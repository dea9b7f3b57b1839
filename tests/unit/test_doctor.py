"""glrunner doctor's checks of Docker-in-Docker setups (spec section 6), on specs from the real compiler."""

from __future__ import annotations

from pathlib import Path

import pytest

from glrunner.compile import CompileContext, compile_job
from glrunner.config import DockerConfig, RunnerSettings
from glrunner.diagnose.dind import check_job
from glrunner.model.payload import Image, JobInfo, JobPayload, JobVariable, ServiceVariable, Step
from tests.support.cli import glrunner, write_project

CTX = CompileContext(job_uid="0" * 16)


def _findings(variables: dict[str, str], *, volumes: tuple[str, ...] = ("/certs/client",), privileged: bool = True,
              image: str = "docker:24.0.5-cli", service_vars: dict[str, str] | None = None) -> list[str]:
    payload = JobPayload(
        id=1, job_info=JobInfo(name="j", project_id=1),
        variables=tuple(JobVariable(k, v) for k, v in variables.items()),
        steps=(Step("script", ("docker info",)),), image=Image(name=image),
        services=(Image(name="docker:24.0.5-dind",
                        variables=tuple(ServiceVariable(k, v) for k, v in (service_vars or {}).items())),),
    )
    runner = RunnerSettings(executor="docker", docker=DockerConfig(privileged=privileged, volumes=list(volumes)))
    return [f.title for f in check_job(compile_job(payload, runner, CTX))]


def test_the_docs_tls_setup_is_fine() -> None:
    assert _findings({"DOCKER_TLS_CERTDIR": "/certs"}) == []


def test_the_docs_tls_off_setup_is_fine() -> None:
    assert _findings({"DOCKER_HOST": "tcp://docker:2375", "DOCKER_TLS_CERTDIR": ""}, volumes=()) == []


def test_not_privileged() -> None:
    assert _findings({"DOCKER_TLS_CERTDIR": "/certs"}, privileged=False) == ["docker:24.0.5-dind is not privileged"]


def test_2375_while_tls_is_on_spec_6_row_1() -> None:
    titles = _findings({"DOCKER_HOST": "tcp://docker:2375"})
    assert "DOCKER_HOST uses 2375 but dind serves TLS on 2376" in titles


def test_2376_while_tls_is_off() -> None:
    titles = _findings({"DOCKER_HOST": "tcp://docker:2376", "DOCKER_TLS_CERTDIR": ""}, volumes=())
    assert titles == ["DOCKER_HOST uses 2376 but dind serves plain TCP on 2375"]


def test_certificates_not_shared_spec_6_row_2() -> None:
    titles = _findings({"DOCKER_TLS_CERTDIR": "/certs"}, volumes=("/cache",))
    assert titles == ["the TLS client certificates in /certs/client are not shared with the job"]


def test_socket_directory_not_shared() -> None:
    titles = _findings({"DOCKER_HOST": "unix:///runner/services/docker/docker.sock", "DOCKER_TLS_CERTDIR": ""},
                       volumes=("/cache",))
    assert titles == ["the socket directory /runner/services/docker is not shared with the dind service"]


def test_unknown_host_name() -> None:
    titles = _findings({"DOCKER_HOST": "tcp://dind:2375", "DOCKER_TLS_CERTDIR": ""}, volumes=())
    assert titles == ["DOCKER_HOST names 'dind', which is not an alias of docker:24.0.5-dind"]


def test_non_docker_image_without_docker_host() -> None:
    titles = _findings({"DOCKER_TLS_CERTDIR": "/certs"}, image="alpine:3")
    assert titles == ["DOCKER_HOST is not set and alpine:3 is not a docker:*-cli image"]


def test_host_socket_mount_is_warned_about() -> None:
    socket = "/var/run/docker.sock:/var/run/docker.sock"
    titles = _findings({"DOCKER_TLS_CERTDIR": "/certs"}, volumes=("/certs/client", socket))
    assert titles == ["the host's Docker socket is mounted into every container"]


@pytest.mark.docker
def test_doctor_command_exit_status(tmp_path: Path, docker_engine: None) -> None:
    good = glrunner("doctor", "--cwd", "examples/dind-tls", "-c", "examples/dind-tls/config.toml")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "✔ build: no problems found (uses docker:24.0.5-dind)" in good.stdout
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": (
        "image: docker:24.0.5-cli\nservices: [docker:24.0.5-dind]\nvariables:\n  DOCKER_HOST: tcp://docker:2375\n"
        "job:\n  script: [docker info]\n")})
    bad = glrunner("doctor", "--cwd", str(project))
    assert bad.returncode == 1
    assert "job: error: docker:24.0.5-dind is not privileged" in bad.stdout
    assert "job: error: DOCKER_HOST uses 2375 but dind serves TLS on 2376" in bad.stdout
    assert "fix: set `privileged = true` in [runners.docker]" in bad.stdout
