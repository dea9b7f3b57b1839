"""`glrunner register`, `verify`, `unregister`, `list`: GitLab Runner's commands (spec 1.3-1.5).

Flags and environment variables are GitLab Runner's (see `glrunner.config.flags`); messages follow
its wording. Everything that can fail after GitLab accepted a registration removes the runner from
GitLab again (unless `--leave-runner`), and config.toml is replaced only once all went well.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from glrunner.config import Config, RunnerSettings, parse_config, resolve_config_path
from glrunner.config.edit import add_runner, remove_runners
from glrunner.config.files import load_or_create_system_id, read_config_text, write_config_text
from glrunner.config.flags import (
    REGISTER_FLAGS,
    FlagSpec,
    config_flags,
    parse_go_bool,
    resolve_flag,
    resolve_register_values,
)
from glrunner.config.identity import shorten_token
from glrunner.config.registration import SUPPORTED_EXECUTORS, Identity, build_runner, load_template
from glrunner.coordinator.api import RunnerApi, RunnerCredentials, is_authentication_token, runner_info
from glrunner.coordinator.http import GitLabClient, RetryPolicy, TlsSettings
from glrunner.errors import CoordinatorError, RunnerError, UsageError

T = TypeVar("T")
ACCESS_LEVELS = ("not_protected", "ref_protected")
RESERVED_MESSAGE = (
    "Runner configuration other than name and executor configuration is reserved (specifically --locked, "
    "--access-level, --run-untagged, --maximum-timeout, --paused, --tag-list, and --maintenance-note) and "
    "cannot be specified when registering with a runner authentication token. This configuration is "
    "specified on the GitLab server. Please try again without specifying any of those arguments. For more "
    "information, see https://docs.gitlab.com/ci/runners/new_creation_workflow/"
)
LEGACY_COMPATIBLE_WARNING = (
    "You have specified an authentication token in the legacy parameter --registration-token. This has "
    "triggered the 'legacy-compatible registration process' which has resulted in the following command "
    "line parameters being ignored: --locked, --access-level, --run-untagged, --maximum-timeout, --paused, "
    "--tag-list, and --maintenance-note."
)
DEPRECATION_WARNING = (
    "Support for registration tokens and runner parameters in the 'register' command has been deprecated "
    "in GitLab Runner 15.6 and will be replaced with support for authentication tokens. For more "
    "information, see https://docs.gitlab.com/ci/runners/new_creation_workflow/"
)

_SHORT = {"config": "-c", "non-interactive": "-n", "url": "-u", "registration-token": "-r", "token": "-t"}


def log(message: str) -> None:
    click.echo(message, err=True)


def warn(message: str) -> None:
    click.secho(f"WARNING: {message}", fg="yellow", err=True)


def gitlab_call(url: str, runner: RunnerSettings | None, call: Callable[[RunnerApi], Awaitable[T]]) -> T:
    """One short-lived client per call; the waits between retries come from the environment in tests."""
    tls = TlsSettings(runner.tls_ca_file, runner.tls_cert_file, runner.tls_key_file) if runner else TlsSettings()

    async def go() -> T:
        async with GitLabClient(url, retry=RetryPolicy.from_environ(os.environ), tls=tls) as client:
            return await call(RunnerApi(client))

    return asyncio.run(go())


def optional_value_option(spec: FlagSpec, sets_key: bool) -> Callable[[Any], Any]:
    """GitLab's boolean flags: `--flag` alone means true, `--flag=false` is accepted too."""
    names = [f"--{spec.name}"] + ([_SHORT[spec.name]] if spec.name in _SHORT else [])
    if spec.name == "name":
        names.append("--description")
    table = ".".join(("runners", *spec.section))
    help_text = f"[{table}] {spec.key}" if sets_key else ""
    help_text += f" (env {spec.env})" if spec.env else ""
    if spec.kind == "bool":
        return click.option(
            *names, spec.param, is_flag=False, flag_value="true", default=None, metavar="[=BOOL]", help=help_text
        )
    if spec.kind in ("list", "pull_policy", "flags"):
        return click.option(*names, spec.param, multiple=True, metavar="VALUE", help=help_text + ", repeatable")
    return click.option(*names, spec.param, default=None, metavar=spec.kind.upper(), help=help_text)


def with_register_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    for spec in reversed(config_flags()):
        command = optional_value_option(spec, sets_key=True)(command)
    for spec in reversed(REGISTER_FLAGS):
        command = optional_value_option(spec, sets_key=False)(command)
    return command


@dataclass
class RegisterArgs:
    values: dict[str, Any]
    flag_values: dict[FlagSpec, object]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def resolve_register_args(params: Mapping[str, Any], env: Mapping[str, str]) -> RegisterArgs:
    try:
        values = resolve_register_values(params, env, default_name=socket.gethostname())
        flag_values = {spec: resolve_flag(spec, params.get(spec.param), env) for spec in config_flags()}
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return RegisterArgs(values, flag_values)


class Asker:
    """GitLab's prompts: a given value is shown as `[value]: ` and kept on an empty answer."""

    def __init__(self, non_interactive: bool) -> None:
        self.non_interactive = non_interactive

    def ask(self, key: str, prompt: str, current: str, allow_empty: bool = False) -> str:
        current = current.strip()
        if self.non_interactive:
            if not current and not allow_empty:
                raise RunnerError(f"The {key} needs to be entered")
            return current
        while True:
            click.echo(prompt)
            if current:
                click.echo(f"[{current}]: ", nl=False)
            line = sys.stdin.readline()
            if not line:
                raise RunnerError("Unexpected EOF. Did you mean to use --non-interactive?")
            answer = line.strip()
            if answer:
                return answer
            if allow_empty or current:
                return current


@click.command("register", context_settings={"max_content_width": 120})
@with_register_flags
def register_command(**params: Any) -> None:
    """Register a runner with GitLab and add it to config.toml (GitLab Runner's flags)."""
    args = resolve_register_args(params, os.environ)
    if args.access_level and args.access_level not in ACCESS_LEVELS:
        raise RunnerError("Given access-level is not valid. Refer to glrunner register -h for the correct options.")
    template = _read_template(args.template_config) if args.template_config else {}
    path = resolve_config_path(args.config or None)
    text = read_config_text(path)
    config = parse_config(text, str(path), env=os.environ) if text is not None else Config()
    _print_warnings(config)
    system_id, problem = load_or_create_system_id(path)
    if problem:
        warn(problem)
    asker = Asker(args.non_interactive)
    identity, registered = _ask_runner(args, asker, config, system_id)
    try:
        executor = _ask_executor(args, asker)
        image = ""
        if executor == "docker":
            image = asker.ask(
                "docker-image", "Enter the default Docker image (for example, ruby:3.3):", _given_image(args, template)
            )
        runner = build_runner(args.flag_values, template, identity, executor, image)
        write_config_text(path, add_runner(text, runner))
    except BaseException:
        if registered and not args.leave_runner:
            _unregister_after_failure(identity, system_id)
        raise
    _concurrency_warnings(config, runner)
    log(
        "Runner registered successfully. Feel free to start it, but if it's running already the config "
        "should be automatically reloaded!"
    )
    log(f'Configuration (with the authentication token) was saved in "{path}"')


def _given_image(args: RegisterArgs, template: Mapping[str, object]) -> str:
    given = next((value for spec, value in args.flag_values.items() if spec.name == "docker-image"), None)
    docker = template.get("docker")
    if not given and isinstance(docker, dict):
        given = docker.get("image")
    return given if isinstance(given, str) else ""


def _read_template(name: str) -> dict[str, object]:
    log(f'Merging configuration from template file "{name}"')
    text = read_config_text(Path(name))
    if text is None:
        raise UsageError(f"{name}: template file not found")
    return load_template(text, name)


def _print_warnings(config: Config) -> None:
    for problem in config.warnings:
        warn(str(problem))


def _ask_runner(args: RegisterArgs, asker: Asker, config: Config, system_id: str) -> tuple[Identity, bool]:
    """The four token flows of spec 1.3. Returns the identity and whether GitLab now knows the runner."""
    url = asker.ask("url", "Enter the GitLab instance URL (for example, https://gitlab.com/):", args.url)
    token = args.token
    if token and not is_authentication_token(token):
        log("Token specified trying to verify runner...")
        warn("If you want to register use the '-r' instead of '-t'.")
        _verify_for_registration(url, token, system_id, args.executor, require_id=False)
        return Identity(args.name, url, token, 0, None, None), False
    if not token:
        token = asker.ask("registration-token", "Enter the registration token:", args.registration_token)
    if not is_authentication_token(token):
        return _register_legacy(args, asker, url, token), True
    if any(runner.token == token for runner in config.runners):
        warn("A runner with this system ID and token has already been registered.")
    _ensure_server_config_args_empty(args, legacy_compatible=args.registration_token == token)
    answer = _verify_for_registration(url, token, system_id, args.executor, require_id=True)
    obtained = datetime.now(UTC).replace(microsecond=0)
    name_prompt = "Enter a name for the runner. This is stored only in the local config.toml file:"
    try:
        name = asker.ask("name", name_prompt, args.name)
    except BaseException:
        if not args.leave_runner:
            _unregister_after_failure(Identity(args.name, url, token, answer.id, None, None), system_id)
        raise
    return Identity(name, url, token, answer.id, obtained, answer.token_expires_at), True


def _register_legacy(args: RegisterArgs, asker: Asker, url: str, token: str) -> Identity:
    from glrunner.coordinator.api import RegistrationParameters

    name = asker.ask("name", "Enter a description for the runner:", args.name)
    tags = asker.ask("tag-list", "Enter tags for the runner (comma-separated):", args.tag_list, allow_empty=True)
    note_prompt = "Enter optional maintenance note for the runner:"
    note = asker.ask("maintenance-note", note_prompt, args.maintenance_note, allow_empty=True)
    params = RegistrationParameters(
        description=name,
        tag_list=tags,
        run_untagged=args.run_untagged or not tags,
        locked=args.locked,
        access_level=args.access_level,
        maximum_timeout=args.maximum_timeout,
        paused=args.paused,
        maintenance_note=note,
    )
    warn(DEPRECATION_WARNING)
    answer = gitlab_call(url, None, lambda api: api.register_runner(token, params))
    log(f"Registering runner... succeeded                     runner={shorten_token(token)}")
    obtained = datetime.now(UTC).replace(microsecond=0)
    return Identity(name, url, answer.token, answer.id, obtained, answer.token_expires_at)


def _ensure_server_config_args_empty(args: RegisterArgs, legacy_compatible: bool) -> None:
    reserved = (
        not args.locked
        or args.access_level
        or args.run_untagged
        or args.maximum_timeout
        or args.paused
        or args.tag_list
        or args.maintenance_note
    )
    if not reserved:
        return
    if legacy_compatible:
        warn(LEGACY_COMPATIBLE_WARNING)
        return
    raise RunnerError(RESERVED_MESSAGE)


def _verify_for_registration(
    url: str, token: str, system_id: str, executor: str, require_id: bool
) -> RunnerCredentials:
    info = runner_info(executor or None)
    answer = gitlab_call(url, None, lambda api: api.verify_runner(token, system_id, info))
    if answer is None:
        log(f"Verifying runner... is not valid                      runner={shorten_token(token)}")
        raise RunnerError("Failed to verify the runner.")
    if require_id and answer.id == 0:
        raise RunnerError("Failed to verify the runner.")
    state = "is valid" if is_authentication_token(token) else "is alive"
    log(f"Verifying runner... {state}                        runner={shorten_token(token)}")
    return answer


def _ask_executor(args: RegisterArgs, asker: Asker) -> str:
    names = ", ".join(SUPPORTED_EXECUTORS)
    current = args.executor
    while True:
        executor = asker.ask("executor", f"Enter an executor: {names}:", current, allow_empty=True)
        if executor in SUPPORTED_EXECUTORS:
            return str(executor)
        message = f'Invalid executor specified: "{executor}"; the valid executors are: {names}'
        if asker.non_interactive:
            raise RunnerError(message)
        click.secho(f"ERROR: {message}", fg="red", err=True)
        current = ""


def _unregister_after_failure(identity: Identity, system_id: str) -> None:
    """Best effort: a runner GitLab knows but config.toml does not would be an orphan."""
    short = shorten_token(identity.token)
    try:
        removed = gitlab_call(identity.url, None, lambda api: api.unregister(identity.token, system_id))
    except (RunnerError, OSError) as exc:
        warn(f"Could not remove the runner from GitLab after the failure (runner={short}): {exc}")
        return
    except KeyboardInterrupt:
        return
    what = "manager" if is_authentication_token(identity.token) else "runner"
    state = "succeeded" if removed else "failed"
    log(f"Unregistering runner {what} from GitLab {state}              runner={short}")


def _concurrency_warnings(config: Config, runner: RunnerSettings) -> None:
    if config.concurrent < runner.limit:
        warn(
            f"The specified runner job concurrency limit ({runner.limit}) is larger than current global "
            f"concurrency limit ({config.concurrent}). The global concurrent limit will not be increased "
            "and takes precedence."
        )
    if config.concurrent < runner.request_concurrency:
        warn(
            f"The specified runner request concurrency ({runner.request_concurrency}) is larger than the "
            f"current global concurrent limit ({config.concurrent}). The global concurrent limit will not "
            "be increased and takes precedence."
        )


def config_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("-c", "--config", "config", envvar="CONFIG_FILE", default=None, help="Config file")(command)


def _load_existing(config_option_value: str | None) -> tuple[Path, str | None, Config]:
    path = resolve_config_path(config_option_value)
    text = read_config_text(path)
    config = parse_config(text, str(path), env=os.environ) if text is not None else Config()
    _print_warnings(config)
    return path, text, config


def _system_id(path: Path) -> str:
    system_id, problem = load_or_create_system_id(path)
    if problem:
        warn(problem)
    return system_id


@click.command("verify")
@config_option
@click.option("-n", "--name", default=None, help="Name of the runner you wish to verify")
@click.option("-u", "--url", default=None, help="GitLab instance URL (no environment variable, on purpose)")
@click.option("-t", "--token", default=None, help="Runner's authentication token")
@click.option(
    "--delete",
    is_flag=False,
    flag_value="true",
    default=None,
    metavar="[=BOOL]",
    help="Delete no longer existing runners",
)
def verify_command(
    config: str | None, name: str | None, url: str | None, token: str | None, delete: str | None
) -> None:
    """Check the configured runners with GitLab; `--delete` removes those GitLab no longer knows."""
    remove = _parse_bool_flag("--delete", delete)
    path, text, loaded = _load_existing(config)
    selected = [
        index
        for index, runner in enumerate(loaded.runners)
        if (name is None or runner.name == name)
        and (url is None or runner.url == url)
        and (token is None or runner.token == token)
    ]
    if (name or url or token) and not selected:
        raise RunnerError("no runner matches the filtering parameters")
    system_id = _system_id(path)
    gone, unreachable = [], []
    for index in selected:
        state = _verify_one(loaded.runners[index], system_id)
        if state == "removed":
            gone.append(index)
        elif state == "unreachable":
            unreachable.append(index)
    if gone and remove and text is not None:
        write_config_text(path, remove_runners(text, set(gone)))
        log(f"Updated {path}")
    elif gone or unreachable:
        raise RunnerError("Failed to verify runners")
    if unreachable:
        raise RunnerError("Failed to verify runners")


def _verify_one(runner: RunnerSettings, system_id: str) -> str:
    short = shorten_token(runner.token)
    info = runner_info(runner.executor or None, runner.shell or None, runner.labels)
    try:
        answer = gitlab_call(runner.url, runner, lambda api: api.verify_runner(runner.token, system_id, info))
    except CoordinatorError as exc:
        click.secho(f"ERROR: Verifying runner... failed: {exc}   runner={short}", fg="red", err=True)
        return "unreachable"
    new = is_authentication_token(runner.token)
    if answer is None:
        log(f"Verifying runner... {'is not valid' if new else 'is removed'}      runner={short}")
        return "removed"
    log(f"Verifying runner... {'is valid' if new else 'is alive'}          runner={short}")
    return "ok"


def _parse_bool_flag(flag: str, value: str | None) -> bool:
    if value is None:
        return False
    try:
        return parse_go_bool(value)
    except ValueError:
        raise UsageError(f"{flag}: expected true or false, got {value!r}") from None


@click.command("unregister")
@config_option
@click.option("-n", "--name", default=None, help="Name of the runner you wish to unregister")
@click.option("-u", "--url", envvar="CI_SERVER_URL", default=None, help="GitLab instance URL")
@click.option("-t", "--token", envvar="CI_SERVER_TOKEN", default=None, help="Runner's authentication token")
@click.option(
    "--all-runners", is_flag=False, flag_value="true", default=None, metavar="[=BOOL]", help="Unregister all runners"
)
def unregister_command(
    config: str | None, name: str | None, url: str | None, token: str | None, all_runners: str | None
) -> None:
    """Remove a runner from GitLab and from config.toml."""
    path, text, loaded = _load_existing(config)
    system_id = _system_id(path)
    if _parse_bool_flag("--all-runners", all_runners):
        warn("Unregistering all runners")
        failed = [i for i, runner in enumerate(loaded.runners) if not _unregister_one(runner, system_id)]
        removed = set(range(len(loaded.runners))) - set(failed)
        _save_without(path, text, removed)
        if failed:
            names = ", ".join(f'"{loaded.runners[i].name}"' for i in failed)
            raise RunnerError(f"Failed to unregister runners: {names}")
        return
    index = _find_runner(loaded, name, token)
    runner = loaded.runners[index]
    if not _unregister_one(runner, system_id):
        raise RunnerError(f'failed to unregister runner "{runner.name}"')
    same = {i for i, other in enumerate(loaded.runners) if _credentials(other) == _credentials(runner)}
    _save_without(path, text, same)


def _find_runner(config: Config, name: str | None, token: str | None) -> int:
    if not name and not token:
        raise RunnerError("at least one of --name or --token must be specified")
    for index, runner in enumerate(config.runners):
        if (not name or runner.name == name) and (not token or runner.token == token):
            return index
    what = " and ".join(part for part in (f'name "{name}"' if name else "", "the given token" if token else "") if part)
    raise RunnerError(f"get runner by token or name: no runner with {what} in config.toml")


def _credentials(runner: RunnerSettings) -> tuple[str, ...]:
    return (runner.url, runner.token, runner.tls_ca_file, runner.tls_cert_file, runner.tls_key_file)


def _unregister_one(runner: RunnerSettings, system_id: str) -> bool:
    short = shorten_token(runner.token)
    what = "runner manager" if is_authentication_token(runner.token) else "runner"
    try:
        ok = gitlab_call(runner.url, runner, lambda api: api.unregister(runner.token, system_id))
    except CoordinatorError as exc:
        click.secho(f"ERROR: Unregistering {what} from GitLab failed: {exc}   runner={short}", fg="red", err=True)
        return False
    log(f"Unregistering {what} from GitLab {'succeeded' if ok else 'forbidden'}   runner={short}")
    return ok


def _save_without(path: Path, text: str | None, indices: set[int]) -> None:
    if not indices or text is None:
        return
    write_config_text(path, remove_runners(text, indices))
    log(f"Updated {path}")


@click.command("list")
@config_option
def list_command(config: str | None) -> None:
    """Print the configured runners: name, executor, shortened token, URL."""
    path, _text, loaded = _load_existing(config)
    log(f"Listing configured runners                          ConfigFile={path}")
    for runner in loaded.runners:
        short = shorten_token(runner.token)
        log(f"{runner.name:<50} Executor={runner.executor} Token={short} URL={runner.url}")
