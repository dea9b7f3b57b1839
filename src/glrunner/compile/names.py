"""Names GitLab Runner gives to what it creates (spec 2.2, 2.3, 2.8)."""

from __future__ import annotations

import hashlib
import re

_TOKEN_PREFIXES = ("glrt-", "glrtr-", "glcbt-")
_PARTITION_PREFIX = re.compile(r"^t[123]_")
_LEGACY_GR_TOKEN = re.compile(r"^GR[0-9a-fA-F]{7}")


def shorten_token(token: str) -> str:
    """GitLab's ShortenToken: strip the known prefixes, keep the first 9 characters."""
    for prefix in _TOKEN_PREFIXES:
        if token.startswith(prefix):
            token = _PARTITION_PREFIX.sub("", token[len(prefix) :])
            break
    else:
        if _LEGACY_GR_TOKEN.match(token):
            token = token[len("GR1348941") :]  # "GR" + 7 hex characters
    return token[:9]


def sanitize_dns_label(name: str, limit: int = 63) -> str:
    """RFC-1123 as GitLab sanitises it: lowercase, drop other characters, start alphanumeric."""
    name = re.sub(r"[^-a-z0-9]", "", name.lower())
    name = re.sub(r"^[^a-z0-9]+", "", name)
    return name[:limit]


def project_unique_name(short_token: str, project_id: int, concurrent_project_id: int) -> str:
    return sanitize_dns_label(f"runner-{short_token}-project-{project_id}-concurrent-{concurrent_project_id}")


def build_network_name(short_token: str, project_id: int, concurrent_project_id: int, job_id: int) -> str:
    return sanitize_dns_label(f"runner-{short_token}-{project_id}-{concurrent_project_id}-{job_id}")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def persistent_volume_name(
    token: str, system_id: str, project_id: int, concurrent_project_id: int, path: str, protected: bool
) -> str:
    """`runner-<32hex>-cache-<md5(path)>[-protected]`, reused across jobs of one project slot."""
    unique = hashlib.sha256(f"{token}-{system_id}-{project_id}-{concurrent_project_id}".encode()).hexdigest()
    return f"runner-{unique[:32]}-cache-{md5_hex(path)}" + ("-protected" if protected else "")


def temporary_volume_name(container_prefix: str, path: str) -> str:
    return f"{container_prefix}-cache-{md5_hex(path)}"
