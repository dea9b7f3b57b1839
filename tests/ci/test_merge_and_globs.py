"""Properties of GitLab's deep merge (extends, include), of slugs, and of path globs (rules:exists)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from glrunner.ci.compose import deep_merge
from glrunner.ci.evaluate import glob_match
from glrunner.ci.predefined import slugify
from glrunner.ci.yamltree import Loc, YMap, YSeq

LOC = Loc("f.yml", 1)
keys = st.sampled_from(["a", "b", "c", "script", "variables"])
leaves = st.one_of(st.integers(0, 3), st.text("xyz", max_size=2), st.lists(st.integers(0, 3), max_size=2))
trees = st.recursive(st.dictionaries(keys, leaves, max_size=4), lambda inner: st.dictionaries(keys, inner, max_size=4),
                     max_leaves=12)


def to_ymap(data: dict[str, Any]) -> YMap:
    node = YMap(LOC)
    for key, value in data.items():
        if isinstance(value, dict):
            value = to_ymap(value)
        elif isinstance(value, list):
            seq = YSeq(LOC)
            for item in value:
                seq.push(item, LOC)
            value = seq
        node.put(key, value, LOC)
    return node


def plain(node: Any) -> Any:
    if isinstance(node, YMap):
        return {k: plain(v) for k, v in node.items()}
    if isinstance(node, YSeq):
        return list(node)
    return node


def rails_deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """The reference: ActiveSupport's Hash#deep_merge."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(result.get(key), dict) and isinstance(value, dict):
            result[key] = rails_deep_merge(result[key], value)
        else:
            result[key] = value
    return result


@given(trees, trees)
def test_deep_merge_is_rails_deep_merge(base: dict[str, Any], over: dict[str, Any]) -> None:
    merged = plain(deep_merge(to_ymap(base), to_ymap(over)))
    assert merged == rails_deep_merge(base, over)
    assert list(merged) == list(rails_deep_merge(base, over))  # key order too


@given(trees)
def test_deep_merge_identities(tree: dict[str, Any]) -> None:
    assert plain(deep_merge(to_ymap(tree), to_ymap(tree))) == tree
    assert plain(deep_merge(to_ymap({}), to_ymap(tree))) == tree
    assert plain(deep_merge(to_ymap(tree), to_ymap({}))) == tree


@given(st.text(max_size=100))
def test_slug_shape(text: str) -> None:
    slug = slugify(text)
    assert len(slug) <= 63
    assert set(slug) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")
    assert not slug.startswith("-") and not slug.endswith("-")


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("Dockerfile", "Dockerfile", True),
        ("*.py", "app.py", True),
        ("*.py", "src/app.py", False),  # FNM_PATHNAME: * stops at /
        ("**/*.py", "app.py", True),
        ("**/*.py", "src/deep/app.py", True),
        ("src/**/*.py", "src/app.py", True),
        ("src/**", "src/a/b", True),
        ("*", ".hidden", True),  # FNM_DOTMATCH
        ("{a,b}.txt", "b.txt", True),
        ("{a,b}.txt", "c.txt", False),
        ("[ab].txt", "a.txt", True),
        ("[!ab].txt", "a.txt", False),
        ("file?.md", "file1.md", True),
        ("file?.md", "file/.md", False),
        ("docs/*.md", "docs/index.md", True),
        ("a.b", "axb", False),
    ],
)
def test_globs(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches
