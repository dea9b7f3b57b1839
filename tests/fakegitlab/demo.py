"""Try `glrunner run` by hand against the fake GitLab.

    .venv/bin/python -m tests.fakegitlab.demo --jobs 2 --script 'echo hello from $CI_JOB_ID'

starts the fake GitLab on 127.0.0.1, creates a runner and the project `group/project`, queues the
jobs, writes a config.toml and prints the command to start the runner with it. Each job's final
state and trace are printed as GitLab receives them; Ctrl-C stops the server.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

from tests.fakegitlab.gitrepo import add_project
from tests.fakegitlab.jobs import FakeJobs
from tests.fakegitlab.payloads import JobSpecification, Var, job_payload
from tests.fakegitlab.server import FakeGitLab

_ANSI = re.compile(r"\x1b\[[0-9;]*[mK]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--script", action="append", help="a script line (repeatable)")
    parser.add_argument("--image", default="busybox:latest")
    parser.add_argument("--masked", default="", help="a masked variable MY_SECRET for the jobs")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="glrunner-demo-"))
    with FakeGitLab() as gitlab:
        runner = gitlab.create_runner()
        jobs = FakeJobs(gitlab)
        sha = add_project(gitlab.state, "group/project", {"README.md": "demo\n"})
        extra = [Var("MY_SECRET", args.masked, public=False, masked=True)] if args.masked else []
        records = []
        for _ in range(args.jobs):
            job_id, token = jobs.new_identity()
            spec = JobSpecification(script=args.script or ["echo hello from job $CI_JOB_ID"], image=args.image,
                                    sha=sha, variables=extra)
            records.append(jobs.add(job_payload(gitlab.url, job_id, token, spec)))
        config = workdir / "config.toml"
        config.write_text(f'concurrent = 2\ncheck_interval = 1\n\n[[runners]]\n  name = "demo"\n'
                          f'  url = "{gitlab.url}"\n  token = "{runner.token}"\n  executor = "docker"\n'
                          f'  [runners.docker]\n    image = "busybox:latest"\n')
        print(f"fake GitLab at {gitlab.url}; {len(records)} job(s) queued\nstart the runner with:\n"
              f"  .venv/bin/glrunner run -c {config}\n", flush=True)
        shown: set[int] = set()
        try:
            while True:
                for record in records:
                    if record.finished and record.id not in shown:
                        shown.add(record.id)
                        print(f"--- job {record.id}: {record.status} {record.failure_reason or ''}")
                        print(_ANSI.sub("", record.trace.decode(errors="replace")), flush=True)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
