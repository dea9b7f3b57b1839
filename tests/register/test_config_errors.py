"""Every command reports a broken config.toml with file, line, key and fix, exit status 2 (issue 4)."""

from __future__ import annotations

import pytest

from tests.register.conftest import Glrunner

CASES = {
    "wrong type": (
        '[[runners]]\n  name = "a"\n  executor = "docker"\n[[runners]]\n  name = "b"\n  [runners.docker]\n'
        '    image = "alpine"\n    privileged = "yes"\n',
        ':8: [[runners]] #2 docker.privileged: expected a boolean, got "yes"; '
        "write privileged = true or privileged = false",
    ),
    "duplicate key": (
        'concurrent = 1\n[[runners]]\n  name = "a"\n  url = "http://x"\n  url = "http://y"\n',
        ":5: [[runners]] #1 url: duplicate key: it is already set in this table; keep only one",
    ),
    "broken toml": (
        'concurrent = 1\n\n[[runners]\n  name = "a"\n',
        ":3: invalid TOML: Expected ']]' at the end of an array declaration",
    ),
}


@pytest.mark.parametrize("command", ["list", "verify", "unregister", "register"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_config_points_at_the_line(glrunner: Glrunner, command: str, case: str) -> None:
    text, expected = CASES[case]
    glrunner.config.parent.mkdir()
    glrunner.config.write_text(text)
    args = ["--name", "a"] if command == "unregister" else []
    if command == "register":
        args = ["-n", "-u", "http://127.0.0.1:9/", "-r", "x", "--executor", "shell"]
    result = glrunner(command, "-c", str(glrunner.config), *args)
    assert result.returncode == 2, result.stderr
    assert f"ERROR: {glrunner.config}{expected}" in result.stderr
    assert "Traceback" not in result.stderr
    assert glrunner.config.read_text() == text


def test_unknown_keys_are_warned_about_not_fatal(glrunner: Glrunner) -> None:
    glrunner.config.parent.mkdir()
    glrunner.config.write_text('[[runners]]\n  name = "a"\n  [runners.docker]\n    privilegd = true\n')
    result = glrunner("list", "-c", str(glrunner.config))
    assert result.returncode == 0, result.stderr
    assert (
        f"WARNING: {glrunner.config}:4: [[runners]] #1 docker.privilegd: unknown key, ignored; did you mean privileged?"
    ) in result.stderr
