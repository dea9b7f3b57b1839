"""`glrunner run`, the real process, against the fake GitLab over HTTP, with the real Docker engine.

Jobs are queued as GitLab sends them (spec 4.2); the assertions are on what GitLab ends up
knowing: the job's state, failure reason and exit code (spec 4.3), and the trace it assembled
from the runner's patches (spec 4.4), whose CRC-32 the final update must match.
"""

from __future__ import annotations

import re
import signal
import zlib
from collections.abc import Callable

import pytest

from tests.fakegitlab.payloads import JobSpecification, Var
from tests.fakegitlab.state import TraceFault
from tests.runner_api.conftest import RunnerProcess, Server, runner_config

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]

StartRunner = Callable[..., RunnerProcess]
TLS_DOCKER = """    privileged = true
    volumes = ["/certs/client", "/cache"]
"""


def _lines(trace: bytes) -> list[str]:
    return [re.sub(r"\x1b\[[0-9;]*[mK]", "", line) for line in trace.decode(errors="replace").splitlines()]


def _final_update(server: Server, job_id: int) -> dict[str, object]:
    job = server.jobs.get(job_id)
    finals = [u for u in job.updates if u.get("state") in ("success", "failed")]
    assert finals, f"no final update for job {job_id}: {job.updates}"
    return finals[-1]


@pytest.mark.dind
def test_docs_tls_dind_job(server: Server, start_runner: StartRunner) -> None:
    """The docs' TLS Docker-in-Docker job, as GitLab sends it; config.toml as the docs show it."""
    job = server.add_job(JobSpecification(
        image="docker:24.0.5-cli",
        services=[{"name": "docker:24.0.5-dind", "alias": "", "entrypoint": None, "command": None}],
        variables=[Var("DOCKER_TLS_CERTDIR", "/certs")],
        script=["docker info", "docker build -t my-docker-image .",
                "docker run --rm my-docker-image /hello.sh from-job-$CI_JOB_ID"],
    ))
    runner = start_runner(runner_config(server, docker=TLS_DOCKER))
    server.jobs.wait_finished([job.id], timeout=240)
    lines = _lines(bytes(job.trace))
    assert job.status == "success", "\n".join(lines)
    for expected in ("Running with glrunner", "Using Docker executor with image docker:24.0.5-cli ...",
                     "Starting service docker:24.0.5-dind...", "Getting source from Git repository",
                     f"Checking out {server.sha[:8]} as detached HEAD (ref is main)...",
                     "$ docker info", "$ docker build -t my-docker-image .",
                     f"hello from the image built in dind, from-job-{job.id}", "Job succeeded"):
        assert any(expected in line for line in lines), f"{expected!r} missing from the trace"
    assert any(line.startswith(" Server Version:") for line in lines)
    output = _final_update(server, job.id)["output"]
    assert output == {"checksum": f"crc32:{zlib.crc32(job.trace):08x}", "bytesize": len(job.trace)}
    assert job.checksum_mismatches == 0
    runner.wait_log(rf"Job succeeded .*job={job.id}")


def test_masked_variable_never_reaches_gitlab(server: Server, start_runner: StartRunner) -> None:
    """Spec 3.4: a masked value written whole, and split over two writes a second apart."""
    secret = "Sup3r-S3cret-Value"
    job = server.add_job(JobSpecification(
        image="busybox:latest",
        variables=[Var("MY_SECRET", secret, public=False, masked=True)],
        script=['echo "whole: $MY_SECRET"',
                'printf "split: %s" "${MY_SECRET%-*}"; sleep 1; printf -- "-%s\\n" "${MY_SECRET##*-}"',
                'echo "job token: $CI_JOB_TOKEN"', 'echo "repo: $CI_REPOSITORY_URL"'],
    ))
    runner = start_runner(runner_config(server))
    runner.secrets += (secret,)
    server.jobs.wait_finished([job.id])
    trace = bytes(job.trace)
    assert job.status == "success", trace.decode(errors="replace")
    assert secret.encode() not in trace and job.token.encode() not in trace
    lines = _lines(trace)
    assert "whole: [MASKED]" in lines and "split: [MASKED]" in lines
    assert "job token: [MASKED]" in lines
    assert any(line.startswith("repo: http://gitlab-ci-token:[MASKED]@") for line in lines)


def test_failing_script_reports_script_failure_and_exit_code(server: Server, start_runner: StartRunner) -> None:
    job = server.add_job(JobSpecification(image="busybox:latest", script=["echo before", "exit 3", "echo never"]))
    start_runner(runner_config(server))
    server.jobs.wait_finished([job.id])
    lines = _lines(bytes(job.trace))
    assert (job.status, job.failure_reason, job.exit_code) == ("failed", "script_failure", 3)
    assert "before" in lines and "never" not in lines
    assert "ERROR: Job failed: exit code 3" in lines


def test_job_over_its_timeout_reports_job_execution_timeout(server: Server, start_runner: StartRunner) -> None:
    job = server.add_job(JobSpecification(image="busybox:latest", timeout=4, script=["echo started", "sleep 120"],
                                          after_script=["echo after=$CI_JOB_STATUS"]))
    start_runner(runner_config(server))
    server.jobs.wait_finished([job.id], timeout=120)
    lines = _lines(bytes(job.trace))
    assert (job.status, job.failure_reason) == ("failed", "job_execution_timeout")
    assert "exit_code" not in _final_update(server, job.id)
    assert "after=timedout" in lines
    assert any(line.startswith("ERROR: Job failed: execution took longer than") for line in lines)


def test_cancel_from_gitlab_runs_after_script(server: Server, start_runner: StartRunner) -> None:
    """`Job-Status: canceling` (spec 4.4): the script stops, after_script runs, the state is reported.

    The job keeps writing, so the runner patches every second and hears of the cancel at once; a
    silent job would hear of it from the "touch" after 30 s, as with GitLab Runner (spec 4.3).
    """
    job = server.add_job(JobSpecification(image="busybox:latest",
                                          script=["echo started", "while true; do echo tick; sleep 1; done"],
                                          after_script=["echo after=$CI_JOB_STATUS"]))
    start_runner(runner_config(server))
    server.jobs.wait_trace(job.id, b"started")
    server.jobs.cancel(job.id)
    server.jobs.wait_finished([job.id], timeout=120)
    lines = _lines(bytes(job.trace))
    assert job.status == "canceled"
    final = _final_update(server, job.id)
    assert final["state"] == "failed" and final["failure_reason"] == "unknown_failure"  # job_canceled is internal
    assert "after=canceled" in lines
    assert "ERROR: Job failed: canceled" in lines


def test_five_jobs_with_concurrent_two(server: Server, start_runner: StartRunner) -> None:
    jobs = [server.add_job(JobSpecification(image="busybox:latest", name=f"job-{n}",
                                            script=[f"echo job {n} on slot $CI_CONCURRENT_ID", "sleep 3"]))
            for n in range(5)]
    start_runner(runner_config(server, concurrent=2))
    server.jobs.wait_finished([j.id for j in jobs], timeout=240)
    assert [j.status for j in jobs] == ["success"] * 5
    assert server.gitlab.state.running_max == 2  # the server saw two at once, never three
    slots = {line.rsplit(" ", 1)[-1] for j in jobs for line in _lines(bytes(j.trace)) if line.startswith("job ")}
    assert slots <= {"0", "1"}


def test_trace_survives_416_500_and_timeouts(server: Server, start_runner: StartRunner) -> None:
    """The server answers 416, then 500s (beyond the client's retries), then does not answer in time,
    then loses bytes: every line still reaches it, once and in order."""
    count = 40
    job = server.add_job(JobSpecification(
        image="busybox:latest", script=[f"for i in $(seq 1 {count}); do echo line-$i; sleep 0.15; done"]))
    faults = [TraceFault(status=416), *[TraceFault(status=500)] * 6, TraceFault(delay=3.0),
              TraceFault(lose=25), TraceFault(status=502)]
    server.jobs.fail_trace(job.id, *faults)
    start_runner(runner_config(server), env={"GLRUNNER_HTTP_TIMEOUT": "1.5"})
    server.jobs.wait_finished([job.id], timeout=120)
    lines = _lines(bytes(job.trace))
    assert job.status == "success", "\n".join(lines)
    assert [line for line in lines if line.startswith("line-")] == [f"line-{i}" for i in range(1, count + 1)]
    statuses = [status for _, status in job.patches]
    assert 416 in statuses and 500 in statuses and 502 in statuses
    assert not job.trace_faults  # every fault was met


def test_sigterm_during_a_job(server: Server, start_runner: StartRunner) -> None:
    """SIGTERM: the job is aborted, its containers removed, GitLab told it failed; the process exits."""
    reasons = ("script_failure", "runner_system_failure", "job_execution_timeout", "runner_interrupted")
    job = server.add_job(JobSpecification(image="busybox:latest", script=["echo started", "sleep 300"],
                                          after_script=["echo after_script ran"], failure_reasons=reasons))
    runner = start_runner(runner_config(server))
    server.jobs.wait_trace(job.id, b"started")
    runner.signal(signal.SIGTERM)
    assert runner.wait(timeout=90) == 0
    assert (job.status, job.failure_reason) == ("failed", "runner_interrupted")
    lines = _lines(bytes(job.trace))
    assert "ERROR: Job failed: aborted: terminated" in lines
    assert "after_script ran" not in lines
    assert "aborting 1 running job(s)" in runner.log


def test_missing_image_is_a_system_failure_where_gitlab_lacks_image_pull_failure(
    server: Server, start_runner: StartRunner
) -> None:
    """The executor cannot prepare (no such image): `image_pull_failure`, sent as GitLab's older
    `runner_system_failure` when the payload's `features.failure_reasons` does not list it (spec 4.3)."""
    job = server.add_job(JobSpecification(image="glrunner-test/no-such-image:1", script=["true"],
                                          failure_reasons=("script_failure", "unknown_failure")))
    start_runner(runner_config(server))
    server.jobs.wait_finished([job.id], timeout=120)
    lines = _lines(bytes(job.trace))
    assert (job.status, job.failure_reason) == ("failed", "runner_system_failure")
    assert any(line.startswith("ERROR: Job failed") for line in lines)
    assert "$ true" not in lines


def test_output_limit_cuts_the_trace_with_gitlabs_message(server: Server, start_runner: StartRunner) -> None:
    job = server.add_job(JobSpecification(
        image="busybox:latest", script=["for i in $(seq 1 400); do echo output-line-$i; done", "echo done"]))
    start_runner(runner_config(server, extra="  output_limit = 2"))
    server.jobs.wait_finished([job.id])
    trace = bytes(job.trace)
    assert job.status == "success"  # the script went on; the checksum covers the cut trace
    assert b"Job's log exceeded limit of 2048 bytes." in trace
    assert b"Job execution will continue but no more output will be collected." in trace
    assert b"output-line-400" not in trace and b"Job succeeded" not in trace
    assert len(trace) < 2048 + 200
