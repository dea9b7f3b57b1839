"""`image:` and `services:` (string or hash forms) -> ImageDef / ServiceDef, aliases validated."""

from __future__ import annotations

import re
from typing import Any

from glrunner.ci import fields
from glrunner.ci.model import ImageDef, ServiceDef
from glrunner.ci.problems import Problems
from glrunner.ci.yamltree import Loc, YMap, YSeq

PULL_POLICIES = ("always", "never", "if-not-present")
_IMAGE_KEYS = ("name", "entrypoint", "pull_policy", "docker", "kubernetes", "ports")
_SERVICE_KEYS = (*_IMAGE_KEYS, "alias", "command", "variables")
_DNS_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def read_image(value: Any, loc: Loc, key: str, problems: Problems) -> ImageDef | None:
    if isinstance(value, str):
        return ImageDef(name=value) if _image_name(value, loc, key, problems) else None
    named = _named_mapping(value, loc, key, _IMAGE_KEYS, "image", problems)
    if named is None:
        return None
    node, name = named
    docker = _executor_opts(node, "docker", ("user", "platform"), key, problems)
    kubernetes = _executor_opts(node, "kubernetes", ("user",), key, problems)
    return ImageDef(
        name=name,
        entrypoint=_list(node, "entrypoint", key, problems),
        pull_policy=_pull_policy(node, key, problems),
        docker_user=docker.get("user", ""),
        docker_platform=docker.get("platform", ""),
        kubernetes_user=kubernetes.get("user", ""),
    )


def _named_mapping(
    value: Any, loc: Loc, key: str, keys: tuple[str, ...], what: str, problems: Problems
) -> tuple[Any, str] | None:
    """The hash form of an image or service: its known keys checked and a valid `name:` required."""
    node = fields.mapping(value, loc, key, problems)
    if node is None:
        return None
    fields.check_keys(node, keys, key, problems)
    name = node.get("name")
    if not isinstance(name, str) or not _image_name(name, node.key_loc("name"), f"{key}.name", problems):
        if "name" not in node:
            problems.add(node.loc, key, f"config is missing the `name:` of the {what}")
        return None
    return node, name


def read_services(value: Any, loc: Loc, key: str, problems: Problems) -> tuple[ServiceDef, ...]:
    if not isinstance(value, YSeq):
        problems.add(loc, key, "config should be an array of images (strings or hashes with `name:`)")
        return ()
    services: list[ServiceDef] = []
    for index, (item, item_loc) in enumerate(fields.flatten(value)):
        service = _read_service(item, item_loc, f"{key}[{index}]", problems)
        if service is not None:
            services.append(service)
    return tuple(services)


def _read_service(value: Any, loc: Loc, key: str, problems: Problems) -> ServiceDef | None:
    if isinstance(value, str):
        return ServiceDef(name=value) if _image_name(value, loc, key, problems) else None
    named = _named_mapping(value, loc, key, _SERVICE_KEYS, "service image", problems)
    if named is None:
        return None
    node, name = named
    alias = ""
    if "alias" in node:
        alias = fields.string(node["alias"], node.key_loc("alias"), f"{key}.alias", problems) or ""
        check_aliases(alias, node.key_loc("alias"), f"{key}.alias", problems)
    docker = _executor_opts(node, "docker", ("user", "platform"), key, problems)
    kubernetes = _executor_opts(node, "kubernetes", ("user",), key, problems)
    return ServiceDef(
        name=name,
        alias=alias,
        entrypoint=_list(node, "entrypoint", key, problems),
        command=_list(node, "command", key, problems),
        pull_policy=_pull_policy(node, key, problems),
        variables=_service_variables(node, key, problems),
        docker_user=docker.get("user", ""),
        docker_platform=docker.get("platform", ""),
        kubernetes_user=kubernetes.get("user", ""),
    )


def check_aliases(alias: str, loc: Loc, key: str, problems: Problems) -> None:
    """Each alias (split on commas and spaces, as the runner does) must be a DNS name."""
    for name in filter(None, re.split(r"[,\s]+", alias)):
        if "$" in name:
            continue  # expanded by the runner with the job's variables; checked there
        if not all(_DNS_LABEL.match(label) for label in name.split(".")):
            problems.add(loc, key, f"'{name}' is not a valid DNS label; use letters, digits and '-'")


def _image_name(name: str, loc: Loc, key: str, problems: Problems) -> bool:
    if not name.strip():
        problems.add(loc, key, "the image name is empty")
        return False
    return True


def _list(node: YMap, name: str, key: str, problems: Problems) -> tuple[str, ...]:
    if name not in node:
        return ()
    return fields.strings(node[name], node.key_loc(name), f"{key}.{name}", problems, single=False) or ()


def _pull_policy(node: YMap, key: str, problems: Problems) -> tuple[str, ...]:
    if "pull_policy" not in node:
        return ()
    loc = node.key_loc("pull_policy")
    values = fields.strings(node["pull_policy"], loc, f"{key}.pull_policy", problems) or ()
    for value in values:
        if value not in PULL_POLICIES:
            problems.add(loc, f"{key}.pull_policy", f"'{value}' is not a pull policy; use one of: "
                         f"{', '.join(PULL_POLICIES)}")
    return tuple(v for v in values if v in PULL_POLICIES)


def _executor_opts(node: YMap, executor: str, allowed: tuple[str, ...], key: str, problems: Problems) -> dict[str, str]:
    if executor not in node:
        return {}
    opts = fields.mapping(node[executor], node.key_loc(executor), f"{key}.{executor}", problems)
    if opts is None:
        return {}
    fields.check_keys(opts, allowed, f"{key}.{executor}", problems)
    result: dict[str, str] = {}
    for name in allowed:
        if name in opts:
            text = fields.string(opts[name], opts.key_loc(name), f"{key}.{executor}.{name}", problems, numbers=True)
            if text is not None:
                result[name] = text
    return result


def _service_variables(node: YMap, key: str, problems: Problems) -> tuple[tuple[str, str], ...]:
    if "variables" not in node:
        return ()
    variables = fields.mapping(node["variables"], node.key_loc("variables"), f"{key}.variables", problems)
    if variables is None:
        return ()
    result: list[tuple[str, str]] = []
    for name, value in variables.items():
        text = fields.string(value, variables.key_loc(name), f"{key}.variables.{name}", problems, numbers=True)
        if text is not None:
            result.append((name, text))
    return tuple(result)
