"""Stage scripts in GitLab Runner's bash layout (spec section 2.7).

The script is what GitLab's `BashWriter` produces: errexit (+pipefail where the shell has it),
every command echoed as `$ cmd` in bold green before it runs, variables exported with ANSI-C
quoting, the body run through `eval` in a subshell with stdin from /dev/null.
"""

from __future__ import annotations

from collections.abc import Iterable

from glrunner.model.spec import ScriptPlan, ScriptVariable

# GitLab's shell detection: the first bash, else the first sh, that exists. `$@` carries the
# path of the stage script (glrunner hands the script over as a file, not on stdin).
DETECT_SHELL_SCRIPT = """if [ -x /usr/local/bin/bash ]; then
\texec /usr/local/bin/bash "$@"
elif [ -x /usr/bin/bash ]; then
\texec /usr/bin/bash "$@"
elif [ -x /bin/bash ]; then
\texec /bin/bash "$@"
elif [ -x /usr/local/bin/sh ]; then
\texec /usr/local/bin/sh "$@"
elif [ -x /usr/bin/sh ]; then
\texec /usr/bin/sh "$@"
elif [ -x /bin/sh ]; then
\texec /bin/sh "$@"
elif [ -x /busybox/sh ]; then
\texec /busybox/sh "$@"
else
\techo shell not found
\texit 1
fi
"""

GREEN = "\x1b[32;1m"
RESET = "\x1b[0;m"

_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\x1b": "\\x1b",
}


def ansi_c_quote(text: str) -> str:
    """Quote `text` as bash `$'...'` so that any byte sequence survives, as GitLab does."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "$'" + "".join(out) + "'"


def posix_quote(text: str) -> str:
    """Single-quote for POSIX shells (FF_POSIXLY_CORRECT_ESCAPES)."""
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _echo(text: str) -> str:
    return "echo " + ansi_c_quote(text)


def _export_lines(variables: Iterable[ScriptVariable], tmp_dir: str) -> list[str]:
    lines: list[str] = []
    made_tmp = False
    for var in variables:
        if var.file:
            if not made_tmp:
                lines.append(f"mkdir -p {ansi_c_quote(tmp_dir)}")
                made_tmp = True
            path = f"{tmp_dir}/{var.key}"
            lines.append(f"printf '%s' {ansi_c_quote(var.value)} > {ansi_c_quote(path)}")
            lines.append(f"export {var.key}={ansi_c_quote(path)}")
        else:
            lines.append(f"export {var.key}={ansi_c_quote(var.value)}")
    return lines


def _gitlab_env_lines(tmp_dir: str) -> list[str]:
    env_file = ansi_c_quote(f"{tmp_dir}/gitlab_runner_env")
    return [
        f"export GITLAB_ENV={env_file}",
        'if [ -f "$GITLAB_ENV" ]; then while read -r line; do export "$line"; done < "$GITLAB_ENV"; fi',
    ]


def _command_lines(commands: Iterable[str]) -> list[str]:
    lines: list[str] = []
    for command in commands:
        command = command.strip("\n")
        if not command.strip():
            lines.append("echo")
            continue
        first, *rest = command.split("\n")
        shown = f"$ {first}" + (" # collapsed multi-line command" if rest else "")
        lines.append(_echo(GREEN + shown + RESET))
        lines.append(command)
    return lines


def _wrap(body_lines: list[str], debug_trace: bool) -> str:
    body = "\n".join(body_lines) + "\n"
    header = ["#!/usr/bin/env bash", "", "trap 'exit 1' TERM", ""]
    if debug_trace:
        header.append("set -o xtrace")
    header += [
        'case "$(set -o)" in *"pipefail"*) set -o pipefail;; esac; set -o errexit',
        "set +o noclobber",
        f"(trap 'exit 1' TERM; eval {ansi_c_quote(body)}) < /dev/null",
        "exit 0",
        "",
    ]
    return "\n".join(header)


def _prologue(plan: ScriptPlan, overrides: dict[str, str]) -> list[str]:
    variables = [
        ScriptVariable(v.key, overrides[v.key], v.file) if v.key in overrides else v for v in plan.variables
    ]
    lines = _export_lines(variables, plan.tmp_dir)
    known = {v.key for v in plan.variables}
    lines += [f"export {k}={ansi_c_quote(v)}" for k, v in overrides.items() if k not in known]
    lines += _gitlab_env_lines(plan.tmp_dir)
    lines.append(f"cd {ansi_c_quote(plan.project_dir)}")
    return lines


def render_step_script(plan: ScriptPlan) -> str:
    """The `step_script` stage: before_script + script (one step, as GitLab sends it)."""
    body = _prologue(plan, {})
    body += _command_lines(plan.pre_build_script)
    body += _command_lines(plan.script)
    body += _command_lines(plan.post_build_script)
    return _wrap(body, plan.debug_trace)


def render_after_script(plan: ScriptPlan, job_status: str) -> str:
    """The `after_script` stage, with `CI_JOB_STATUS` set to the job's status so far."""
    body = _prologue(plan, {"CI_JOB_STATUS": job_status})
    body.append(_echo(GREEN + "Running after script..." + RESET))
    body += _command_lines(plan.after_script)
    return _wrap(body, plan.debug_trace)
