"""Jobs, variables, services and pipelines through `glrunner exec` on the real engine (spec 2, 3)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from tests.support.cli import glrunner, write_project

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("no_leftovers")]
FAST = ("--docker-pull-policy", "if-not-present")


def test_predefined_variables_and_project_dir(tmp_path: Path) -> None:
    project = write_project(tmp_path / "demo", {".gitlab-ci.yml": """
image: busybox:latest
variables:
  GREETING: "hello $CI_JOB_NAME"
vars:
  stage: test
  script:
    - echo "CI=$CI GITLAB_CI=$GITLAB_CI job=$CI_JOB_NAME stage=$CI_JOB_STAGE"
    - echo "dir=$CI_PROJECT_DIR builds=$CI_BUILDS_DIR path=$CI_PROJECT_PATH"
    - echo "greeting=$GREETING status=$CI_JOB_STATUS"
    - echo "sha=$CI_COMMIT_SHA pipeline=$CI_PIPELINE_ID id=$CI_JOB_ID"
    - pwd
    - ls
""", "notes.txt": "project file\n"})
    result = glrunner("exec", "--cwd", str(project), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "CI=true GITLAB_CI=true job=vars stage=test" in out
    assert "dir=/builds/local/demo builds=/builds path=local/demo" in out
    assert "greeting=hello vars status=running" in out
    assert re.search(r"sha=0{40} pipeline=\d+ id=\d+", out)
    assert "\n/builds/local/demo\n" in out
    assert "notes.txt" in out


def test_git_project_path_from_origin_and_sha(tmp_path: Path) -> None:
    project = write_project(tmp_path / "checkout", {".gitlab-ci.yml": """
image: busybox:latest
job:
  script:
    - echo "path=$CI_PROJECT_PATH sha=$CI_COMMIT_SHA ref=$CI_COMMIT_REF_NAME"
    - test -f tracked.txt && test -f untracked.txt && test ! -f ignored.log && echo files-ok
""", "tracked.txt": "t", "untracked.txt": "u", "ignored.log": "i", ".gitignore": "*.log\n"})
    git = ["git", "-C", str(project), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "feature"], check=True)
    subprocess.run([*git, "add", ".gitlab-ci.yml", "tracked.txt", ".gitignore"], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "remote", "add", "origin", "git@gitlab.example.com:team/sub/app.git"], check=True)
    sha = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    result = glrunner("exec", "--cwd", str(project), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"path=team/sub/app sha={sha} ref=feature" in result.stdout
    assert "files-ok" in result.stdout


def test_masked_variable_never_in_output(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
job:
  script:
    - 'echo "whole: $DEPLOY_TOKEN"'
    - |
      printf '%s' "$DEPLOY_TOKEN" | cut -c1-6; printf '%s\\n' "$DEPLOY_TOKEN" | cut -c7-
    - |
      printf 'split: '; printf '%s' "$DEPLOY_TOKEN" | fold -w 3 | tr -d '\\n'; echo
    - echo "gitlab token glpat-abcdefghij0123456789"
"""})
    secret = "s3cr3t-d3ploy-value"
    result = glrunner("exec", "--cwd", str(project), "--masked-env", f"DEPLOY_TOKEN={secret}", *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr
    assert "whole: [MASKED]" in result.stdout
    assert "split: [MASKED]" in result.stdout
    assert "glpat-[MASKED]" in result.stdout


def test_service_sees_public_variables_not_project_ones(tmp_path: Path) -> None:
    """spec 2.5/3.3: services get public + runner-internal variables and their own, never project ones."""
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
variables:
  PUBLIC_ONE: visible-to-services
services:
  - name: busybox:latest
    alias: envdump
    entrypoint: ["sh", "-c"]
    command: ["env > /builds/env-of-service.txt; nc -ll -p 7000 -e true"]
    variables:
      OWN: "own-$PUBLIC_ONE"
      HEALTHCHECK_TCP_PORT: "7000"
job:
  script:
    - cat /builds/env-of-service.txt | sort | grep -E '^(PUBLIC_ONE|OWN|PROJECT_SECRET|CI_JOB_NAME)=' || true
    - echo "build sees PROJECT_SECRET=$PROJECT_SECRET"
"""})
    result = glrunner("exec", "--cwd", str(project), "--env", "PROJECT_SECRET=from-project", *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "PUBLIC_ONE=visible-to-services" in out
    assert "OWN=own-visible-to-services" in out
    assert "CI_JOB_NAME=job" in out
    assert "PROJECT_SECRET=from-project" not in out.split("build sees")[0]
    assert "build sees PROJECT_SECRET=from-project" in out
    assert "probably didn't start properly" not in out


def test_services_resolve_each_other_and_the_build_container(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
services:
  - name: busybox:latest
    alias: web
    entrypoint: ["sh", "-c", "echo served-by-web > /index.html; httpd -f -p 8080 -h /"]
    variables:
      HEALTHCHECK_TCP_PORT: "8080"
  - name: busybox:latest
    alias: client
    entrypoint:
      - sh
      - -c
      - until wget -q -O /builds/via-client.txt http://web:8080/; do sleep 0.2; done; nc -ll -p 9000 -e true
    variables:
      HEALTHCHECK_TCP_PORT: "9000"
job:
  script:
    - wget -q -O - http://web:8080/
    - cat /builds/via-client.txt
    - nslookup build >/dev/null 2>&1 && echo build-resolves || getent hosts build && echo build-resolves
"""})
    result = glrunner("exec", "--cwd", str(project), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("served-by-web") >= 2, "the job and the client service both reached web"
    assert "build-resolves" in result.stdout
    assert "probably didn't start properly" not in result.stdout


def test_pipeline_stages_order_parallel_jobs_and_manual(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
stages: [first, second]
a:
  stage: first
  script: [sleep 1, echo a-done]
b:
  stage: first
  script: [sleep 1, echo b-done]
c:
  stage: second
  script: [echo c-done]
manual-job:
  stage: second
  when: manual
  script: [echo manual-ran]
on-failure:
  stage: second
  when: on_failure
  script: [echo cleanup-ran]
"""})
    result = glrunner("exec", "--cwd", str(project), *FAST)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.index("a-done") < out.index("c-done") and out.index("b-done") < out.index("c-done")
    assert "manual-ran" not in out and "cleanup-ran" not in out
    assert re.search(r"^a\s+.*a-done", out, re.MULTILINE), "parallel jobs' lines carry their job name"
    table = out[out.rindex("Pipeline"):]
    for job in ("a", "b", "c"):
        assert re.search(rf"\b{job}\b.*success", table)
    named = glrunner("exec", "--cwd", str(project), "manual-job", *FAST)
    assert named.returncode == 0 and "manual-ran" in named.stdout


def test_failure_skips_later_on_success_jobs_and_runs_on_failure(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
stages: [build, deploy]
build:
  stage: build
  script: [exit 7]
deploy:
  stage: deploy
  script: [echo deployed]
notify:
  stage: deploy
  when: on_failure
  script: [echo notified]
"""})
    result = glrunner("exec", "--cwd", str(project), *FAST)
    assert result.returncode == 1
    assert "deployed" not in result.stdout.replace("echo deployed", "")
    assert "notified" in result.stdout
    assert "ERROR: Job failed: exit code 7" in result.stdout


def test_persistent_cache_volume_survives_between_jobs(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {
        ".gitlab-ci.yml": """
image: busybox:latest
write:
  script:
    - echo "$CI_JOB_ID" >> /cache/runs.txt
    - wc -l < /cache/runs.txt
""",
        "config.toml": '[[runners]]\n  name = "c"\n  token = "glrt-cachetest0001"\n  executor = "docker"\n'
                       '  [runners.docker]\n    volumes = ["/cache"]\n    pull_policy = ["if-not-present"]\n',
    })
    first = glrunner("exec", "--cwd", str(project), "-c", str(project / "config.toml"))
    second = glrunner("exec", "--cwd", str(project), "-c", str(project / "config.toml"))
    assert first.returncode == 0 and second.returncode == 0, first.stdout + second.stdout
    count = lambda out: int(re.findall(r"^\s*(\d+)\s*$", out, re.MULTILINE)[-1])  # noqa: E731
    assert count(second.stdout) == count(first.stdout) + 1


def test_timeout_is_reported(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {".gitlab-ci.yml": """
image: busybox:latest
slow:
  timeout: 3s
  script: [sleep 60]
  after_script: [echo "after timeout status=$CI_JOB_STATUS"]
"""})
    result = glrunner("exec", "--cwd", str(project), *FAST, timeout=90)
    assert result.returncode == 1
    assert "ERROR: Job failed: execution took longer than 3s seconds" in result.stdout
    assert "after timeout status=timedout" in result.stdout


def test_a_reader_that_goes_away_does_not_change_the_result(tmp_path: Path) -> None:
    """`glrunner exec | head -1`: the job runs to its end, the exit status is the job's."""
    import os

    from tests.support.cli import GLRUNNER

    for script, status in (("seq 1 20000", 0), ("seq 1 20000; exit 4", 1)):
        project = write_project(tmp_path / f"p{status}", {".gitlab-ci.yml": (
            f"image: busybox:latest\njob:\n  script:\n    - {script}\n")})
        process = subprocess.Popen([GLRUNNER, "exec", "--cwd", str(project), *FAST], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, env={**os.environ, "NO_COLOR": "1"})
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline().startswith(b"Running with glrunner")
        process.stdout.close()
        errors = process.stderr.read().decode()
        assert process.wait(timeout=120) == status, errors
        assert "Traceback" not in errors
