"""Advice for dead services, from the messages dockerd really prints."""

from __future__ import annotations

from glrunner.diagnose.service_logs import explain, telling_lines

UNPRIVILEGED_DIND = """dockerd-entrypoint: could not make / rshared (is the container --privileged?)
time="2026-11-29T07:27:32Z" level=info msg="[core] Channel Connectivity change to READY" module=grpc
time="2026-11-29T07:27:32Z" level=error msg="failed to mount overlay: operation not permitted" storage-driver=overlay2
failed to start daemon: error initializing graphdriver: driver not supported
"""


def test_unprivileged_dind_is_explained() -> None:
    advice = explain(UNPRIVILEGED_DIND)
    assert len(advice) == 1 and "privileged = true" in advice[0]


def test_unknown_failures_get_no_advice() -> None:
    assert explain("segmentation fault\n") == []


def test_telling_lines_drop_routine_chatter() -> None:
    lines = telling_lines(UNPRIVILEGED_DIND)
    assert not any("level=info" in line for line in lines)
    assert lines[-1] == "failed to start daemon: error initializing graphdriver: driver not supported"
    assert telling_lines('level=info msg="only chatter"\n') == ['level=info msg="only chatter"']
