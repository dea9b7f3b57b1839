"""The docker:dind and docker:cli stand-ins behave as the official images document:
TLS on 2376 with certificates shared through /certs/client, plain TCP on 2375, a Unix
socket where DOCKER_HOST names one, and a daemon that can pull, build and run."""

from __future__ import annotations

import pytest

from tests.devstack.engine import CLI, DIND, Labelled, container_logs, docker, wait_until

pytestmark = [pytest.mark.docker, pytest.mark.dind]

SOCKET_DIR = "/runner/services/docker"
SOCKET_HOST = f"unix://{SOCKET_DIR}/docker.sock"


def start_dind(engine: Labelled, network: str, *, env: dict[str, str] | None = None,
               volumes: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> str:
    """A privileged dind service on `network` with alias `docker`; waits for its daemon."""
    name = engine.name("dind")
    engine.run(DIND, *args, name=name, detach=True, privileged=True, network=network,
               aliases=["docker"], env=env, volumes=volumes)
    try:
        took = wait_until(["exec", name, "docker", "version"], timeout=60, what="dind daemon")
    except AssertionError:
        raise AssertionError(f"dind did not come up; its log:\n{container_logs(name)}") from None
    assert took < 20, f"dind took {took:.1f} s to answer"
    return name


def test_tls_mode_shares_client_certificates_and_verifies(engine: Labelled) -> None:
    network = engine.network()
    certs = engine.volume("certs")
    dind = start_dind(engine, network, volumes={certs: "/certs/client"})

    listing = engine.run("busybox:latest", "ls", "/certs/client", volumes={certs: "/certs/client"})
    assert set(listing.stdout.split()) >= {"ca.pem", "cert.pem", "key.pem"}

    client = engine.run(
        CLI, "sh", "-c",
        'echo "$DOCKER_HOST $DOCKER_TLS_VERIFY $DOCKER_CERT_PATH" && docker version --format "{{.Server.Version}}"',
        network=network, volumes={certs: "/certs/client:ro"},
    )
    derived, server_version = client.stdout.splitlines()
    assert derived == "tcp://docker:2376 1 /certs/client"
    assert server_version.startswith("20.10")
    assert "API listen on [::]:2376" in container_logs(dind)


def test_tls_mode_rejects_a_client_without_a_certificate(engine: Labelled) -> None:
    network = engine.network()
    certs = engine.volume("certs")
    start_dind(engine, network, volumes={certs: "/certs/client"})

    anonymous = engine.run(
        CLI, "--tls", "--tlscacert=/certs/client/ca.pem", "-H", "tcp://docker:2376", "version",
        network=network, volumes={certs: "/certs/client:ro"}, env={"DOCKER_TLS_CERTDIR": ""}, check=False,
    )
    assert anonymous.returncode != 0
    assert "certificate" in anonymous.output.lower() or "tls" in anonymous.output.lower()


def test_no_tls_mode_serves_plain_tcp_on_2375(engine: Labelled) -> None:
    network = engine.network()
    start_dind(engine, network, env={"DOCKER_TLS_CERTDIR": ""})

    client = engine.run(
        CLI, "sh", "-c", 'echo "$DOCKER_HOST" && docker version --format "{{.Server.Version}}"',
        network=network, env={"DOCKER_TLS_CERTDIR": ""},
    )
    derived, server_version = client.stdout.splitlines()
    assert derived == "tcp://docker:2375"
    assert server_version.startswith("20.10")


def test_unix_socket_mode_on_a_shared_volume(engine: Labelled) -> None:
    network = engine.network()
    sockets = engine.volume("sockets")
    start_dind(engine, network, env={"DOCKER_HOST": SOCKET_HOST}, volumes={sockets: SOCKET_DIR})

    # --network none: the client can only have reached the daemon through the socket.
    client = engine.run(
        CLI, "version", "--format", "{{.Server.Version}}",
        network="none", env={"DOCKER_HOST": SOCKET_HOST}, volumes={sockets: SOCKET_DIR},
    )
    assert client.stdout.strip().startswith("20.10")


def test_build_from_busybox_and_run_inside_dind(engine: Labelled) -> None:
    """The inner daemon pulls busybox:latest through the devstack mirror, builds, runs."""
    network = engine.network()
    certs = engine.volume("certs")
    start_dind(engine, network, volumes={certs: "/certs/client"}, args=("--mtu=1400",))

    script = (
        "set -e; mkdir /build && cd /build; "
        "printf 'FROM busybox:latest\\nRUN echo built-in-dind > /proof\\nCMD [\"cat\", \"/proof\"]\\n' > Dockerfile; "
        "docker build -q -t devstack-test-image . >/dev/null; docker run --rm devstack-test-image"
    )
    result = engine.run(CLI, "sh", "-c", script, network=network, volumes={certs: "/certs/client:ro"})
    assert result.stdout.strip() == "built-in-dind"


def test_cli_image_can_load_the_bundled_busybox_tarball(engine: Labelled) -> None:
    network = engine.network()
    start_dind(engine, network, env={"DOCKER_TLS_CERTDIR": ""})
    script = "docker load -i /opt/glrunner-devstack/images/busybox.tar && docker run --rm busybox:latest echo loaded"
    result = engine.run(CLI, "sh", "-c", script, network=network, env={"DOCKER_TLS_CERTDIR": ""})
    assert "Loaded image: busybox:latest" in result.stdout
    assert result.stdout.strip().endswith("loaded")


@pytest.mark.parametrize("image", [CLI, DIND])
def test_entrypoint_execs_commands_and_runs_docker_subcommands(engine: Labelled, image: str) -> None:
    """GitLab's shell detection (`sh -c ...`) reaches a shell; `--version`/`version` reach docker.
    docker:dind hands non-dockerd commands to the cli entrypoint, as upstream does."""
    assert engine.run(image, "sh", "-c", "echo shell ok").stdout == "shell ok\n"
    assert engine.run(image, "--version").stdout.startswith("Docker version 20.10")
    # no daemon behind tcp://docker:2375 here: docker itself must be the one complaining
    failed = engine.run(image, "info", check=False)
    assert failed.returncode != 0
    assert "tcp://docker:2375" in failed.output or "docker:2375" in failed.output


def test_dind_refuses_to_pretend_without_privileged(engine: Labelled) -> None:
    """Without --privileged the daemon cannot start; the container exits with an error."""
    name = engine.name("unprivileged")
    engine.run(DIND, name=name, detach=True, env={"DOCKER_TLS_CERTDIR": ""})
    status = docker("wait", name, timeout=60).stdout.strip()
    assert status != "0"
    assert "privileged" in container_logs(name)
