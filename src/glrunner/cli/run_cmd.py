"""`glrunner run` and `glrunner run-single`: take jobs from GitLab and run them (spec 4).

`run` serves every `[[runners]]` of config.toml and follows the file's changes; `run-single`
serves one runner described by flags (the same `--docker-*` ... flags as `register`) or by
`-c config.toml -r NAME`, optionally stopping after `--max-builds` jobs or after `--wait-timeout`
seconds without a job. Signals as GitLab Runner: SIGQUIT finishes running jobs and exits;
SIGTERM/SIGINT abort them (containers removed, GitLab told they failed) and exit; a second
SIGTERM/SIGINT exits at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from glrunner.errors import UsageError

HTTP_TIMEOUT_ENV = "GLRUNNER_HTTP_TIMEOUT"  # seconds per request to GitLab; tests shorten it
_SIGNAL_NAMES: dict[int, str] = {signal.SIGTERM: "terminated", signal.SIGINT: "interrupt"}


class _RunnerLogFormatter(logging.Formatter):
    """GitLab Runner's plain log lines: the message, `WARNING: `/`ERROR: ` in front when it matters."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            return f"ERROR: {message}"
        if record.levelno >= logging.WARNING:
            return f"WARNING: {message}"
        return message


def _setup_logging(level: str | None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RunnerLogFormatter())
    root = logging.getLogger("glrunner")
    root.handlers[:] = [handler]
    root.propagate = False
    levels = {"panic": logging.CRITICAL, "fatal": logging.CRITICAL, "error": logging.ERROR,
              "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}
    root.setLevel(levels.get(level or "info", logging.INFO))


def _http_timeout(env: Mapping[str, str]) -> float:
    raw = env.get(HTTP_TIMEOUT_ENV, "")
    try:
        return float(raw) if raw else 60.0
    except ValueError:
        raise UsageError(f"{HTTP_TIMEOUT_ENV}={raw!r}: expected a number of seconds") from None


def _options(max_builds: int = 0, wait_timeout: float = 0.0) -> Any:
    from glrunner.coordinator.http import RetryPolicy
    from glrunner.runner.daemon import DaemonOptions

    return DaemonOptions(max_builds=max_builds, wait_timeout=wait_timeout,
                         retry=RetryPolicy.from_environ(os.environ), http_timeout=_http_timeout(os.environ))


def _serve(daemon: Any) -> int:
    """Run the daemon with GitLab Runner's signal handling; returns the exit status."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        stops = 0

        def on_stop(signum: int) -> None:
            nonlocal stops
            stops += 1
            if stops > 1 and task is not None:
                logging.getLogger("glrunner.runner").error("forced exit: %s", _SIGNAL_NAMES.get(signum, str(signum)))
                task.cancel()
            else:
                daemon.stop_now(_SIGNAL_NAMES.get(signum, "terminated"))

        loop.add_signal_handler(signal.SIGQUIT, daemon.stop_gracefully)
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_stop, signum)
        try:
            await daemon.run()
        except asyncio.CancelledError:
            return 1
        finally:
            for signum in (signal.SIGQUIT, signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)
        return 0

    return asyncio.run(main())


def _metrics(listen_address: str) -> Any:
    log = logging.getLogger("glrunner.runner")
    if not listen_address:
        log.info("listen_address not defined, metrics endpoint disabled")
        return None
    from glrunner.runner.metrics import RunnerMetrics

    metrics = RunnerMetrics()
    bound = metrics.serve(listen_address)
    log.info("Metrics server listening  %s", f"address={bound}")
    return metrics


def _system_id(config_path: Path) -> str:
    from glrunner.config.files import load_or_create_system_id

    system_id, warning = load_or_create_system_id(config_path.resolve())
    if warning:
        logging.getLogger("glrunner.runner").warning("%s", warning)
    return system_id


@click.command("run", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config", default=None, metavar="FILE",
              help="config.toml (env CONFIG_FILE; default /etc/gitlab-runner/config.toml as root).")
@click.option("--listen-address", default=None, metavar="HOST:PORT", envvar="LISTEN_ADDRESS",
              help="Serve Prometheus /metrics here (overrides listen_address of config.toml).")
@click.option("-d", "--working-directory", default=None, type=click.Path(file_okay=False),
              help="Change to this directory first.")
def run_command(config: str | None, listen_address: str | None, working_directory: str | None) -> int:
    """Take jobs from GitLab for every [[runners]] of config.toml and run them."""
    from glrunner.config import load_config, resolve_config_path
    from glrunner.runner.daemon import Daemon, FileConfig

    if working_directory:
        os.chdir(working_directory)
    path = resolve_config_path(config)
    loaded = load_config(path)
    _setup_logging(loaded.log_level)
    log = logging.getLogger("glrunner.runner")
    for warning in loaded.warnings:
        log.warning("%s", warning)
    if not loaded.loaded:
        log.warning("%s does not exist yet; waiting for it to appear", path)
    log.info("Starting multi-runner from %s...  builds=0", path)
    metrics = _metrics(listen_address if listen_address is not None else loaded.listen_address)
    daemon = Daemon(FileConfig(path, loaded), _system_id(path), metrics, _options())
    log.info("Configuration loaded  runners=%d concurrent=%d", len(loaded.runners), loaded.concurrent)
    try:
        return _serve(daemon)
    finally:
        if metrics is not None:
            metrics.stop()


def _with_runner_flags(command: Any) -> Any:
    from glrunner.cli.register_cmd import optional_value_option
    from glrunner.config.flags import config_flags

    for spec in reversed(config_flags()):
        command = optional_value_option(spec, sets_key=True)(command)
    return command


def _runner_from_flags(params: Mapping[str, Any], url: str, token: str, name: str, executor: str) -> Any:
    from glrunner.config.flags import config_flags, resolve_flag, runner_table
    from glrunner.config.registration import validate_runner_table

    if not url:
        raise UsageError("run-single needs the GitLab URL: give -u/--url (env CI_SERVER_URL)")
    if not token:
        raise UsageError("run-single needs the runner's token: give -t/--token (env CI_SERVER_TOKEN)")
    try:
        values = {spec: resolve_flag(spec, params.get(spec.param), os.environ) for spec in config_flags()}
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    table = runner_table(values)
    table.update(url=url, token=token, name=name, executor=executor)
    return validate_runner_table(table)


@click.command("run-single", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.option("-u", "--url", default="", envvar="CI_SERVER_URL", help="GitLab instance URL (env CI_SERVER_URL).")
@click.option("-t", "--token", default="", envvar="CI_SERVER_TOKEN",
              help="Runner authentication token (env CI_SERVER_TOKEN).")
@click.option("--name", "--description", "name", default="", envvar="RUNNER_NAME",
              help="Runner name (env RUNNER_NAME).")
@click.option("--executor", default="docker", envvar="RUNNER_EXECUTOR", show_default=True,
              type=click.Choice(["docker", "kubernetes"]), help="Executor (env RUNNER_EXECUTOR).")
@click.option("-c", "--config", "config", default=None, envvar="CONFIG_FILE", metavar="FILE",
              help="config.toml: its directory holds the system ID; with -r, the runner comes from it.")
@click.option("-r", "--runner", "runner_name", default=None,
              help="Take this [[runners]] of --config (by name) instead of the flags.")
@click.option("--max-builds", type=click.IntRange(min=0), default=0, show_default=True,
              help="How many builds to process before exiting (0: no limit).")
@click.option("--wait-timeout", type=click.IntRange(min=0), default=0, show_default=True,
              help="Exit when no job came for this many seconds (0: wait forever).")
@_with_runner_flags
def run_single_command(url: str, token: str, name: str, executor: str, config: str | None,
                       runner_name: str | None, max_builds: int, wait_timeout: int, **params: Any) -> int:
    """Take jobs from GitLab for one runner given by flags, one job at a time."""
    import socket

    from glrunner.config import Config, load_config, resolve_config_path
    from glrunner.runner.daemon import Daemon, FixedConfig

    _setup_logging(None)
    path = resolve_config_path(config)  # its directory keeps the system ID, as for `run`
    if runner_name:
        runner = load_config(path).find_runner(runner_name)
    else:
        runner = _runner_from_flags(params, url, token, name or socket.gethostname(), executor)
    single = Config(concurrent=1, runners=[runner])
    log = logging.getLogger("glrunner.runner")
    log.info("Starting runner for %s with token %s ...", runner.url, _short(runner.token))
    daemon = Daemon(FixedConfig(single), _system_id(path), None, _options(max_builds, wait_timeout))
    return _serve(daemon)


def _short(token: str) -> str:
    from glrunner.config.identity import shorten_token

    return shorten_token(token)
