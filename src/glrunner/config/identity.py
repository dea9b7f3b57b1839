"""Runner identity: the system ID kept in `.runner_system_id` and the short form of tokens.

Pure: the machine id and the random source come in from the caller (spec 1.4, 2.2).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string

SYSTEM_ID_FILE = ".runner_system_id"
_SYSTEM_ID = re.compile(r"^[sr]_[0-9a-zA-Z]{12}$")
_ID_LENGTH = 12
_ALPHANUMERIC = string.ascii_lowercase + string.ascii_uppercase + string.digits

# Prefixes stripped before shortening, as GitLab Runner does: runner authentication tokens
# (with an optional partition prefix), job tokens, and old registration tokens.
_TOKEN_PREFIXES = (
    re.compile(r"^glrt-(t[123]_)?|^t[123]_|^glrtr-"),
    re.compile(r"^glcbt-"),
    re.compile(r"^GR[0-9A-Fa-f]{7}"),
)
_SHORT_TOKEN_LENGTH = 9


def is_valid_system_id(value: str) -> bool:
    return _SYSTEM_ID.match(value) is not None


def system_id_from_file_text(text: str) -> str | None:
    """The system ID in a `.runner_system_id` file, or None when it is not well formed."""
    value = text.strip()
    return value if is_valid_system_id(value) else None


def new_system_id(machine_id: str | None, random_source: secrets.SystemRandom | None = None) -> str:
    """`s_` + 12 hex of HMAC-SHA256(machine id, "gitlab-runner"), else `r_` + 12 random alphanumerics."""
    if machine_id:
        digest = hmac.new(machine_id.encode(), b"gitlab-runner", hashlib.sha256).hexdigest()
        return "s_" + digest[:_ID_LENGTH]
    rng = random_source or secrets.SystemRandom()
    return "r_" + "".join(rng.choice(_ALPHANUMERIC) for _ in range(_ID_LENGTH))


def shorten_token(token: str) -> str:
    """GitLab Runner's ShortenToken: known prefixes stripped, then the first 9 characters."""
    for prefix in _TOKEN_PREFIXES:
        token = prefix.sub("", token)
    return token[:_SHORT_TOKEN_LENGTH]
