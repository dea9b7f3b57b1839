"""Round-trip edits of config.toml: adding or removing a runner leaves every other byte alone."""

from __future__ import annotations

import json
import tomllib

from hypothesis import given, settings
from hypothesis import strategies as st

from glrunner.config import RunnerSettings
from glrunner.config.edit import add_runner, ensure_global_settings, remove_runners
from glrunner.config.locate import locate_keys

HEADER = (
    "# global settings\n"
    "concurrent = 2 # jobs\n"
    "check_interval = 0\n"
    'connection_max_age = "15m0s"\n'
    "shutdown_timeout = 0\n"
    "\n"
    "[session_server]\n"
    "  session_timeout = 1800\n"
    "\n"
)

comment = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=20).map(
    lambda text: f"# {text}\n"
)
names = st.text("abcxyz-_ é", min_size=1, max_size=8)
values = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")),
    st.lists(st.sampled_from(['"/a"', '"/b:/c"', '"x"']), max_size=3).map(
        lambda xs: "[\n  " + ",\n  ".join(xs) + "\n]"
    ),
)


@st.composite
def runner_block(draw: st.DrawFn) -> str:
    lines = draw(st.lists(comment, max_size=2))
    lines.append("[[runners]]\n")
    lines.append(f'  name = "{draw(names)}"\n')
    for key in draw(st.lists(st.sampled_from(["limit", "builds_dir", "environment", "x_custom"]), unique=True)):
        lines.append(f"  {key} = {draw(values)}\n")
        if draw(st.booleans()):
            lines.append(draw(comment))
    if draw(st.booleans()):
        lines.append("  [runners.docker]\n")
        lines.append(f"    image = {draw(values)} # note\n")
    lines.append("\n" * draw(st.integers(1, 2)))
    return "".join(lines)


@st.composite
def config_parts(draw: st.DrawFn) -> tuple[str, list[str], str]:
    blocks = draw(st.lists(runner_block(), min_size=1, max_size=4))
    tail = draw(st.sampled_from(["", "[machine]\n  x = 1\n"]))
    return HEADER, blocks, tail


@settings(max_examples=150, deadline=None)
@given(config_parts(), st.data())
def test_removing_a_runner_keeps_everything_else(parts: tuple[str, list[str], str], data: st.DataObject) -> None:
    header, blocks, tail = parts
    text = header + "".join(blocks) + tail
    index = data.draw(st.integers(0, len(blocks) - 1))
    result = remove_runners(text, {index})
    expected = header + "".join(b for i, b in enumerate(blocks) if i != index) + tail
    assert result == expected.rstrip() + "\n"
    assert len(tomllib.loads(result).get("runners", [])) == len(blocks) - 1


@settings(max_examples=100, deadline=None)
@given(config_parts(), names)
def test_adding_then_removing_a_runner_round_trips(parts: tuple[str, list[str], str], name: str) -> None:
    header, blocks, tail = parts
    text = header + "".join(blocks) + tail
    added = add_runner(text, RunnerSettings(name=name, url="https://gitlab.example.com", executor="shell"))
    assert added.startswith(text.rstrip("\n"))
    runners = tomllib.loads(added)["runners"]  # values drawn above need not be valid for the model
    assert len(runners) == len(blocks) + 1 and runners[-1]["name"] == name
    assert remove_runners(added, {len(blocks)}) == text.rstrip() + "\n"


def test_comment_above_a_runner_goes_with_it() -> None:
    text = HEADER + '# first\n[[runners]]\n  name = "a"\n\n# second\n[[runners]]\n  name = "b"\n'
    assert remove_runners(text, {0}) == HEADER + '# second\n[[runners]]\n  name = "b"\n'
    assert remove_runners(text, {1}) == HEADER + '# first\n[[runners]]\n  name = "a"\n'


def test_missing_global_settings_are_added_in_gitlabs_order() -> None:
    text = '# mine\nconcurrent = 3\nlog_level = "debug"\n[[runners]]\n  name = "a"\n'
    assert ensure_global_settings(text) == (
        '# mine\nconcurrent = 3\ncheck_interval = 0\nlog_level = "debug"\n'
        'connection_max_age = "15m0s"\nshutdown_timeout = 0\n\n'
        "[session_server]\n  session_timeout = 1800\n\n"
        '[[runners]]\n  name = "a"\n'
    )


def test_inline_runner_arrays_are_refused_clearly() -> None:
    import pytest

    from glrunner.errors import UsageError

    with pytest.raises(UsageError, match="inline array"):
        remove_runners('runners = [{name = "a"}]\n', {0})


@st.composite
def toml_documents(draw: st.DrawFn) -> dict[str, object]:
    keys = st.sampled_from(["a", "b-c", "d_e", "with space", 'q"uote', "é"])
    leaf = st.one_of(st.integers(), st.booleans(), st.text(max_size=8), st.lists(st.integers(), max_size=3))
    tree = st.recursive(
        st.dictionaries(keys, leaf, max_size=3),
        lambda children: st.dictionaries(
            keys, st.one_of(leaf, children, st.lists(children, min_size=1, max_size=2)), max_size=3
        ),
        max_leaves=12,
    )
    return draw(tree)


def _leaves(data: object, path: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], object]]:
    if isinstance(data, dict):
        return [leaf for key, value in data.items() for leaf in _leaves(value, (*path, key))]
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        return [leaf for index, item in enumerate(data) for leaf in _leaves(item, (*path, index))]
    return [(path, data)]


@settings(max_examples=200, deadline=None)
@given(toml_documents())
def test_every_key_is_located_on_its_own_line(document: dict[str, object]) -> None:
    """The located line of each leaf key is the line that writes that key (tomlkit lays it out)."""
    import tomlkit

    text = tomlkit.dumps(document)
    assert tomllib.loads(text) == document
    lines = locate_keys(text)
    source = text.split("\n")
    for path, _value in _leaves(document):
        if not path:
            continue
        key = path[-1]
        assert path in lines, (path, text)
        written = source[lines[path] - 1]
        assert str(key).split('"')[0] in written or tomlkit.key(str(key)).as_string() in written, (path, text)
