"""`glrunner doctor`: explain what is wrong with a project's Docker-in-Docker setup before it runs."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import click

from glrunner.cli.exec_cmd import ExecArgs, _prepare, _system_id, _with_common

_MARKS = {"error": ("✖", "red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}


def _engine_line(host: str) -> tuple[bool, str]:
    async def probe() -> tuple[bool, str]:
        from glrunner.executors.docker.client import connect, engine_url

        docker = connect(host)
        try:
            version = await docker.version()
            return True, f"Docker {version.get('Version', '?')} answers at {engine_url(host) or 'the local socket'}"
        except Exception as exc:
            return False, f"no Docker engine answers at {engine_url(host) or 'the local socket'}: {exc}"
        finally:
            await docker.close()

    return asyncio.run(probe())


@click.command("doctor", context_settings={"help_option_names": ["-h", "--help"]})
@_with_common
def doctor_command(**kwargs: Any) -> int:
    """Check the jobs' Docker-in-Docker setup (services, TLS, certificates, sockets, privileges)."""
    from glrunner import __version__
    from glrunner.ci import build_payload
    from glrunner.compile import CompileContext, compile_job
    from glrunner.diagnose.dind import check_job, is_dind
    from glrunner.errors import JobError

    args = ExecArgs(**kwargs)
    pipeline, ctx, runner, stages = _prepare(args)
    errors = 0
    number = 0
    for _, jobs in stages:
        for job in jobs:
            number += 1
            payload = build_payload(pipeline, job.name, ctx, job_id=number)
            try:
                spec = compile_job(payload, runner, CompileContext(
                    job_uid=secrets.token_hex(8), system_id=_system_id(args.config), runner_version=__version__))
            except JobError as exc:
                errors += 1
                click.secho(f"✖ {job.name}: ", fg="red", bold=True, nl=False)
                click.echo(str(exc))
                continue
            findings = check_job(spec)
            dinds = [s.image for s in spec.services if is_dind(s)]
            if not findings:
                what = f"uses {', '.join(dinds)}" if dinds else "no Docker-in-Docker"
                click.secho(f"✔ {job.name}: ", fg="green", bold=True, nl=False)
                click.echo(f"no problems found ({what})")
            for finding in findings:
                mark, color = _MARKS[finding.severity]
                errors += finding.severity == "error"
                click.secho(f"{mark} {job.name}: {finding.severity}: {finding.title}", fg=color, bold=True)
                click.echo(f"    why: {finding.detail}")
                click.echo(f"    fix: {finding.fix}")
    if runner.executor != "kubernetes":
        ok, line = _engine_line(runner.docker.host if runner.docker else "")
        errors += not ok
        click.secho(f"{'✔' if ok else '✖'} engine: ", fg="green" if ok else "red", bold=True, nl=False)
        click.echo(line)
    return 1 if errors else 0
