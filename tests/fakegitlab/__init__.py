"""A fake GitLab server for tests: real HTTP on 127.0.0.1, GitLab's runner API (spec 1.4)."""

from tests.fakegitlab.server import FakeGitLab
from tests.fakegitlab.state import Fault, RecordedRequest, RunnerRecord

__all__ = ["FakeGitLab", "Fault", "RecordedRequest", "RunnerRecord"]
