"""`glrunner run` and `run-single` as a service: polling, backoff, reload, limits, signals, metrics.

The real process against the fake GitLab; tests that run a job use the real Docker engine.
"""

from __future__ import annotations

import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakegitlab.payloads import JobSpecification
from tests.runner_api.conftest import GLRUNNER, RunnerProcess, Server, runner_config

StartRunner = Callable[..., RunnerProcess]
SUPPORTED = {"variables", "image", "services", "service_variables", "service_multiple_aliases",
             "multi_build_steps", "return_exit_code", "raw_variables", "masking", "trace_reset", "trace_checksum",
             "trace_size", "cancelable", "cancel_gracefully", "refspecs", "image_executor_opts"}


def _wait_requests(server: Server, count: int, timeout: float = 30) -> list[dict[str, object]]:
    server.jobs.wait_until(lambda: len(server.jobs.request_bodies()) >= count, timeout, f"{count} job requests")
    return server.jobs.request_bodies()


def test_job_request_says_what_glrunner_supports_spec_4_1(
    server: Server, start_runner: StartRunner, tmp_path: Path
) -> None:
    runner = start_runner(runner_config(server))
    first, second = _wait_requests(server, 2)[:2]
    assert runner.stop() == 0
    info = first["info"]
    assert isinstance(info, dict)
    assert {k for k, v in info["features"].items() if v} == SUPPORTED
    for absent in ("artifacts", "cache", "upload_multiple_artifacts", "upload_raw_artifacts", "session",
                   "terminal", "vault_secrets"):
        assert info["features"][absent] is False
    assert (info["name"], info["executor"], info["shell"]) == ("glrunner", "docker", "bash")
    assert first["token"] == server.runner.token
    assert first["system_id"] == (tmp_path / ".runner_system_id").read_text().strip()
    assert "last_update" not in first and second["last_update"] == server.gitlab.state.last_update
    request = server.gitlab.requests_to("POST", "/api/v4/jobs/request")[0]
    assert request.headers["runner-token"] == server.runner.token


def test_refused_requests_back_off(server: Server, start_runner: StartRunner) -> None:
    """403 (an unknown token): the runner asks again after 1, 2, 4 ... seconds, not every second."""
    config = runner_config(server).replace(server.runner.token, "glrt-not-a-known-token")
    runner = start_runner(config)
    runner.wait_log(r"Checking for jobs\.\.\. forbidden .*status=403.*retry_in_s=1\b")
    runner.wait_log(r"retry_in_s=2\b")
    runner.wait_log(r"retry_in_s=4\b", timeout=20)
    assert "glrt-not-a-known-token" not in runner.log


def test_config_changes_are_picked_up_without_restart(server: Server, start_runner: StartRunner) -> None:
    good = runner_config(server)
    runner = start_runner(good.replace(server.runner.token, "glrt-not-a-known-token"))
    runner.wait_log("forbidden")
    before = len(server.jobs.request_bodies())
    time.sleep(1.1)  # a new modification time, whatever the file system's resolution
    runner.config.write_text(good)
    runner.wait_log(r"Configuration loaded  builds=0")
    server.jobs.wait_until(
        lambda: any(b["token"] == server.runner.token for b in server.jobs.request_bodies()[before:]),
        30, "a request with the new token")


def test_broken_config_edit_keeps_the_last_good_one(server: Server, start_runner: StartRunner) -> None:
    runner = start_runner(runner_config(server))
    _wait_requests(server, 1)
    time.sleep(1.1)
    runner.config.write_text("concurrent = \"many\"\n")
    runner.wait_log(r"ERROR: Failed to load config .*keeping the previous one")
    count = len(server.jobs.request_bodies())
    _wait_requests(server, count + 1)


def test_compile_error_is_reported_as_configuration_error(server: Server, start_runner: StartRunner) -> None:
    job = server.add_job(JobSpecification(image="alpine:3.19", script=["true"]))
    start_runner(runner_config(server, docker='    allowed_images = ["busybox:*"]\n'))
    server.jobs.wait_finished([job.id])
    assert (job.status, job.failure_reason) == ("failed", "runner_configuration_error")
    assert b"ERROR: Job failed: " in job.trace and b"alpine:3.19" in job.trace


def test_bad_config_at_start_is_a_located_error(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("concurrent = 1\n[[runners]]\n  name = 1\n")
    result = subprocess.run([GLRUNNER, "run", "-c", str(config)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert f"{config}:3: " in result.stderr and "name: expected a string" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_single_waits_then_exits(server: Server, tmp_path: Path) -> None:
    result = subprocess.run(
        [GLRUNNER, "run-single", "-u", server.url, "-t", server.runner.token, "--executor", "docker",
         "--docker-image", "busybox:latest", "--wait-timeout", "1", "-c", str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "This runner has not received a job in 1 seconds, so now exiting" in result.stderr
    assert server.runner.token not in result.stderr
    assert server.jobs.request_bodies()[0]["token"] == server.runner.token


def test_run_single_needs_url_and_token(tmp_path: Path) -> None:
    result = subprocess.run([GLRUNNER, "run-single", "--docker-image", "busybox:latest"],
                            capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "run-single needs the GitLab URL: give -u/--url" in result.stderr


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftovers")
def test_run_single_max_builds(server: Server, tmp_path: Path) -> None:
    jobs = [server.add_job(JobSpecification(script=[f"echo single {n}"])) for n in range(2)]
    result = subprocess.run(
        [GLRUNNER, "run-single", "-u", server.url, "-t", server.runner.token, "--docker-image", "busybox:latest",
         "--docker-pull-policy", "if-not-present", "--max-builds", "1", "-c", str(tmp_path / "config.toml")],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert jobs[0].status == "success" and b"single 0" in jobs[0].trace
    assert jobs[1].status == "pending"  # one build, then it stopped asking


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftovers")
def test_sigquit_finishes_the_running_job(server: Server, start_runner: StartRunner) -> None:
    job = server.add_job(JobSpecification(script=["echo started", "sleep 3", "echo finished"]))
    waiting = server.add_job(JobSpecification(script=["echo never started"]))
    runner = start_runner(runner_config(server))
    server.jobs.wait_trace(job.id, b"started")
    runner.signal(signal.SIGQUIT)
    assert runner.wait(timeout=90) == 0
    assert job.status == "success" and b"finished" in job.trace
    assert waiting.status == "pending"


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftovers")
def test_runner_limit(server: Server, start_runner: StartRunner) -> None:
    jobs = [server.add_job(JobSpecification(script=["sleep 2"])) for _ in range(2)]
    start_runner(runner_config(server, concurrent=3, extra="  limit = 1"))
    server.jobs.wait_finished([j.id for j in jobs])
    assert [j.status for j in jobs] == ["success", "success"]
    assert server.gitlab.state.running_max == 1


@pytest.mark.docker
@pytest.mark.usefixtures("no_leftovers")
def test_metrics_endpoint(server: Server, start_runner: StartRunner) -> None:
    ok = server.add_job(JobSpecification(script=["true"]))
    bad = server.add_job(JobSpecification(script=["exit 1"]))
    runner = start_runner(runner_config(server, top='listen_address = "127.0.0.1:0"'))
    address = runner.wait_log(r"Metrics server listening  address=(\S+)").group(1)
    server.jobs.wait_finished([ok.id, bad.id])
    runner.wait_log(rf"Job failed .*job={bad.id}")
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=10) as response:
        text = response.read().decode()
    lines = text.splitlines()

    def value(prefix: str) -> float:
        found = [line for line in lines if line.startswith(prefix)]
        assert found, f"{prefix} not in /metrics"
        return float(found[0].rsplit(" ", 1)[1])

    assert value('gitlab_runner_jobs{') == 0
    assert value('gitlab_runner_jobs_total{') == 2
    assert value('glrunner_jobs_finished_total{failure_reason="",') == 1
    assert value('glrunner_jobs_finished_total{failure_reason="script_failure",') == 1
    assert value('gitlab_runner_failed_jobs_total{failure_reason="script_failure",') == 1
    assert value("gitlab_runner_job_duration_seconds_count{") == 2
    assert value('gitlab_runner_api_request_statuses_total{endpoint="request_job",') >= 1
    assert any('endpoint="patch_trace"' in line and 'status="202"' in line for line in lines)
    assert value("gitlab_runner_concurrent ") == 1
    assert server.runner.token not in text
