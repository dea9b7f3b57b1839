"""Names, aliases and versions exactly as GitLab Runner derives them (spec 2.2, 2.5, 2.8)."""

from __future__ import annotations

import pytest

from glrunner.compile.aliases import is_valid_alias, split_name_and_version, split_user_aliases
from glrunner.compile.names import (
    build_network_name,
    md5_hex,
    persistent_volume_name,
    project_unique_name,
    sanitize_dns_label,
    shorten_token,
)


@pytest.mark.parametrize(
    ("image", "aliases", "version", "normalised"),
    [
        ("docker:24.0.5-dind", ("docker",), "24.0.5-dind", "docker:24.0.5-dind"),
        ("postgres", ("postgres",), "latest", "postgres:latest"),
        ("tutum/wordpress:latest", ("tutum__wordpress", "tutum-wordpress"), "latest", "tutum/wordpress:latest"),
        (
            "registry.example.com/group/tutum/wordpress:latest",
            ("registry.example.com__group__tutum__wordpress", "registry.example.com-group-tutum-wordpress"),
            "latest",
            "registry.example.com/group/tutum/wordpress:latest",
        ),
        (
            "registry.example.com:4999/valkey/valkey",
            ("registry.example.com__valkey__valkey", "registry.example.com-valkey-valkey"),
            "latest",
            "registry.example.com:4999/valkey/valkey:latest",
        ),
        ("svc@sha256:" + "a" * 64, ("svc",), "@sha256:" + "a" * 64, "svc@sha256:" + "a" * 64),
    ],
)
def test_alias_derivation_table_of_spec_2_5(
    image: str, aliases: tuple[str, ...], version: str, normalised: str
) -> None:
    parsed = split_name_and_version(image)
    assert parsed.derived_aliases == aliases
    assert parsed.version == version
    assert parsed.image == normalised


def test_user_aliases_split_on_commas_and_spaces() -> None:
    """spec 7.5: alias "x, y z" gives x, y, z."""
    assert split_user_aliases("x, y z") == ("x", "y", "z")
    assert split_user_aliases("  docker,dind ") == ("docker", "dind")


@pytest.mark.parametrize("alias", ["docker", "my-db", "a1", "x" * 63])
def test_valid_aliases(alias: str) -> None:
    assert is_valid_alias(alias)


@pytest.mark.parametrize("alias", ["my_db", "-db", "db-", "a" * 64, "db.local", ""])
def test_invalid_aliases(alias: str) -> None:
    assert not is_valid_alias(alias)


@pytest.mark.parametrize(
    ("token", "short"),
    [
        ("glrt-abcdefghijklmnop", "abcdefghi"),
        ("glrt-t1_abcdefghijklmnop", "abcdefghi"),
        ("glrtr-zyxwvutsrqp", "zyxwvutsr"),
        ("GR1348941abcdefghijkl", "abcdefghi"),
        ("legacytoken123", "legacytok"),
    ],
)
def test_shorten_token_spec_2_2(token: str, short: str) -> None:
    assert shorten_token(token) == short


def test_project_unique_name_and_network_name() -> None:
    assert project_unique_name("gozrxeer", 870, 0) == "runner-gozrxeer-project-870-concurrent-0"
    assert build_network_name("gozrxeer", 870, 0, 42) == "runner-gozrxeer-870-0-42"
    assert sanitize_dns_label("Runner_ABC--x!") == "runnerabc--x"
    assert sanitize_dns_label("--x") == "x"


def test_md5_of_volume_paths_spec_2_8() -> None:
    assert md5_hex("/cache") == "3c3f060a0374fc8bc39395164f415a70"
    assert md5_hex("/builds") == "c33bcaa1fd2c77edfc3893b41966cea8"
    assert md5_hex("/certs/client") == "904f6ed42e0fa2b14c1d7a2ed6f1875e"


def test_persistent_volume_name_shape() -> None:
    name = persistent_volume_name("glrt-tok", "s_0123456789ab", 7, 1, "/certs/client", protected=False)
    assert name.startswith("runner-") and name.endswith("-cache-904f6ed42e0fa2b14c1d7a2ed6f1875e")
    assert len(name.split("-")[1]) == 32
    assert persistent_volume_name("glrt-tok", "s_0123456789ab", 7, 1, "/cache", protected=True).endswith("-protected")
    assert name != persistent_volume_name("glrt-tok", "s_0123456789ab", 7, 2, "/certs/client", protected=False)
