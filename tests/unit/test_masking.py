"""Masking of the trace (spec 3.4), including secrets split across writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from glrunner.trace.masking import Masker


def _feed_all(masker: Masker, chunks: list[bytes]) -> bytes:
    return b"".join(masker.feed(c) for c in chunks) + masker.flush()


def test_split_secret_is_masked_spec_7_10() -> None:
    assert _feed_all(Masker(["supersecret"]), [b"supers", b"ecret"]) == b"[MASKED]"


def test_token_prefix_keeps_prefix() -> None:
    assert _feed_all(Masker([]), [b"token glpat-abc123 end"]) == b"token glpat-[MASKED] end"
    assert _feed_all(Masker([]), [b"gl", b"pat-ab", b"c12", b"3\n"]) == b"glpat-[MASKED]\n"


def test_short_values_are_masked_too() -> None:
    assert _feed_all(Masker(["abc"]), [b"xabcx"]) == b"x[MASKED]x"


def test_longest_phrase_first() -> None:
    assert _feed_all(Masker(["secret", "secretvalue"]), [b"a secretvalue b"]) == b"a [MASKED] b"


def test_url_parameters() -> None:
    out = _feed_all(Masker([]), [b"GET /x?private_token=abc&y=1 and ?X-Amz-Signature=zz"])
    assert out == b"GET /x?private_token=[MASKED]&y=1 and ?X-Amz-Signature=[MASKED]"


def test_nothing_to_mask_passes_through_unchanged() -> None:
    masker = Masker([], token_prefixes=(), url_params=())
    assert masker.feed(b"abc") == b"abc"


_SECRET_ALPHABET = st.characters(min_codepoint=33, max_codepoint=126)


@settings(max_examples=300, deadline=None)
@given(
    secret=st.text(_SECRET_ALPHABET, min_size=1, max_size=24),
    noise=st.lists(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=30), min_size=1, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_secret_never_survives_any_chunking(secret: str, noise: list[str], cuts: list[int]) -> None:
    text = secret.join([*noise, ""]) + secret
    data = text.encode()
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    out = _feed_all(Masker([secret], token_prefixes=(), url_params=()), chunks)
    unchunked = _feed_all(Masker([secret], token_prefixes=(), url_params=()), [data])
    assert secret.encode() not in out.replace(b"[MASKED]", b"\0")
    assert out == unchunked
