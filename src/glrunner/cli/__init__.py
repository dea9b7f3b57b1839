"""The `glrunner` command.

Subcommands live in their own modules and are imported only when used, so that
`glrunner --version` and every job start stay fast. The registry below is explicit: a command
exists because it is listed here, not because a module registered itself on import.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import sys
from typing import Any

import click

from glrunner import __version__

# command name -> (module, attribute, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "exec": ("glrunner.cli.exec_cmd", "exec_command", "Run jobs of a local .gitlab-ci.yml."),
    "compile": ("glrunner.cli.exec_cmd", "compile_command", "Print a job's compiled JobSpec as JSON."),
    "register": ("glrunner.cli.register_cmd", "register_command", "Register a runner with GitLab."),
    "verify": ("glrunner.cli.register_cmd", "verify_command", "Check the registered runners."),
    "unregister": ("glrunner.cli.register_cmd", "unregister_command", "Remove a runner."),
    "list": ("glrunner.cli.register_cmd", "list_command", "List the configured runners."),
    "run": ("glrunner.cli.run_cmd", "run_command", "Take jobs from GitLab and run them."),
    "run-single": ("glrunner.cli.run_cmd", "run_single_command", "Run jobs for one runner from flags."),
    "doctor": ("glrunner.cli.doctor_cmd", "doctor_command", "Explain what is wrong with a dind setup."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None
            raise
        command = getattr(module, attr, None)
        return command if isinstance(command, click.Command) else None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @staticmethod
    def _available(name: str) -> bool:
        return importlib.util.find_spec(COMMANDS[name][0]) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-v", "--version", prog_name="glrunner")
def cli() -> None:
    """glrunner: a GitLab-Runner-compatible CI runner (Docker, Docker-in-Docker, Kubernetes)."""


def main(argv: list[str] | None = None) -> Any:
    """Entry point: every RunnerError becomes a message and its exit status, never a traceback."""
    from glrunner.errors import RunnerError

    try:
        result = cli.main(args=argv, prog_name="glrunner", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, click.UsageError) else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except RunnerError as exc:
        click.secho(f"ERROR: {exc}", fg="red", err=True)
        sys.exit(exc.exit_status)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    _exit_now(result if isinstance(result, int) else 0)


def _exit_now(status: int) -> None:
    """Exit without tearing the interpreter down module by module (~0.1 s with aiohttp and pydantic
    loaded). Safe here: every command has finished its work, cleanup included, when it returns."""
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # the reader went away; the work is done
            stream.flush()
    logging.shutdown()
    os._exit(status)
