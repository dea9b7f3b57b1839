"""Service image names, versions and network aliases (spec 2.5, fn SplitNameAndVersion)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# DNS label (RFC 1123) for a user alias; GitLab rejects anything else on Kubernetes and Docker
# would refuse it as a network alias.
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", re.IGNORECASE)
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", re.IGNORECASE)


@dataclass(frozen=True)
class ImageName:
    image: str  # normalised: ":latest" appended when there is no tag or digest
    service: str  # registry host (without port) + path, no tag/digest
    version: str

    @property
    def derived_aliases(self) -> tuple[str, ...]:
        first = self.service.replace("/", "__")
        second = self.service.replace("/", "-")
        return (first,) if first == second else (first, second)

    @property
    def slug(self) -> str:
        return self.service.replace("/", "__")


def split_name_and_version(reference: str) -> ImageName:
    name, digest = reference, ""
    if "@" in name:
        name, digest = name.split("@", 1)
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts[0] = parts[0].split(":", 1)[0]
    service = "/".join(parts)
    if digest:
        version = "@" + digest
        image = reference
    else:
        version = tag or "latest"
        image = reference if tag else f"{reference}:latest"
    return ImageName(image=image, service=service, version=version)


def split_user_aliases(alias: str) -> tuple[str, ...]:
    """`alias: "x, y z"` -> ("x", "y", "z"): commas and/or whitespace separate names."""
    return tuple(a for a in re.split(r"[,\s]+", alias) if a)


def is_valid_alias(alias: str) -> bool:
    return bool(_DNS_LABEL.match(alias))


def is_valid_dns_subdomain(name: str) -> bool:
    return bool(_DNS_SUBDOMAIN.match(name)) and all(len(p) <= 63 for p in name.split("."))
