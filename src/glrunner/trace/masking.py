"""Masking of secrets in a byte stream, across write boundaries (spec section 3.4).

Every masked variable's value becomes `[MASKED]`; after a token prefix such as `glpat-`, the
run of token characters becomes `[MASKED]` (the prefix stays); values of sensitive URL
parameters become `[MASKED]`. A secret split over several writes is still masked: the tail
of a write that could be the beginning of a secret is held back until the next write shows
whether it is one, or until `flush`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = b"[MASKED]"

# GitLab's default token prefixes (FF_MASK_ALL_DEFAULT_TOKENS, on by default).
DEFAULT_TOKEN_PREFIXES: tuple[str, ...] = (
    "glpat-",
    "gloas-",
    "gldt-",
    "glrt-",
    "glcbt-",
    "glrtr-",
    "glptt-",
    "glft-",
    "glimt-",
    "glagent-",
    "glsoat-",
    "glffct-",
    "_gitlab_session=",
    "gltok-",
)
SENSITIVE_URL_PARAMS: tuple[str, ...] = (
    "private_token",
    "authenticity_token",
    "rss_token",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
)
_TOKEN_CHARS = rb"[A-Za-z0-9._=\-]"
_URL_VALUE_CHARS = rb"[^&\s\"'#]"
# A token or URL value still growing at the end of a write is held back at most this long.
_MAX_HELD_RUN = 4096


class Masker:
    """Streaming masker: `feed` bytes, get masked bytes back; `flush` at the end."""

    def __init__(
        self,
        phrases: Iterable[str],
        token_prefixes: Iterable[str] = DEFAULT_TOKEN_PREFIXES,
        url_params: Iterable[str] = SENSITIVE_URL_PARAMS,
    ) -> None:
        cleaned = {p.strip().encode() for p in phrases if p.strip()}
        self._phrases = sorted(cleaned, key=lambda p: (-len(p), p))
        self._prefixes = sorted({p.encode() for p in token_prefixes if p}, key=lambda p: (-len(p), p))
        self._params = sorted({f"{p}=".encode() for p in url_params if p}, key=lambda p: (-len(p), p))
        alternatives = [re.escape(p) for p in self._phrases]
        alternatives += [rb"(?<=" + re.escape(p) + rb")" + _TOKEN_CHARS + b"+" for p in self._prefixes]
        alternatives += [rb"(?<=[?&]" + re.escape(p) + rb")" + _URL_VALUE_CHARS + b"+" for p in self._params]
        self._regex = re.compile(b"|".join(alternatives)) if alternatives else None
        self._starts = self._phrases + self._prefixes + self._params
        self._longest = max((len(s) for s in self._starts), default=0)
        self._tail_runs = [
            re.compile(re.escape(p) + _TOKEN_CHARS + rb"*\Z") for p in self._prefixes
        ] + [re.compile(rb"[?&]" + re.escape(p) + _URL_VALUE_CHARS + rb"*\Z") for p in self._params]
        self._pending = b""

    @property
    def active(self) -> bool:
        return self._regex is not None

    def feed(self, data: bytes) -> bytes:
        if self._regex is None:
            return data
        buf = self._pending + data
        hold = self._hold_start(buf)
        out, consumed = self._mask(buf, hold)
        self._pending = buf[consumed:]
        return out

    def flush(self) -> bytes:
        if self._regex is None or not self._pending:
            return b""
        buf, self._pending = self._pending, b""
        out, _ = self._mask(buf, len(buf))
        return out

    def _mask(self, buf: bytes, hold: int) -> tuple[bytes, int]:
        assert self._regex is not None
        out = bytearray()
        pos = 0
        for match in self._regex.finditer(buf):
            if match.start() >= hold:
                break
            out += buf[pos : match.start()]
            out += MASK
            pos = match.end()
        if pos < hold:
            out += buf[pos:hold]
            pos = hold
        return bytes(out), pos

    def _hold_start(self, buf: bytes) -> int:
        """Where the tail that might still become a secret begins (len(buf) if nothing to hold)."""
        hold = len(buf)
        for pattern in self._tail_runs:
            match = pattern.search(buf, max(0, len(buf) - _MAX_HELD_RUN))
            if match:
                hold = min(hold, match.start())
        for start in range(max(0, len(buf) - self._longest + 1), len(buf)):
            if start >= hold:
                break
            tail = buf[start:]
            if any(len(s) > len(tail) and s.startswith(tail) for s in self._starts):
                hold = start
                break
        return hold
