from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.errors import ProtocolError, UsageError
from clare.sync.invite import (
    JoinRequest,
    Token,
    decode_join,
    decode_reply,
    encode_reply,
    parse_token,
    secret_hash,
)

TOKEN = Token(
    "inv1", "tcp://10.0.0.1:8766", "k" * 40, "origin-a", "a", 1_800_000_000_000, b"s" * 32
)


def test_a_token_reads_back_as_made() -> None:
    signed = TOKEN.signed()
    assert parse_token(signed.to_text()) == signed
    assert parse_token("  " + signed.to_text() + "\n") == signed


def test_an_altered_field_breaks_the_check() -> None:
    altered = Token(
        TOKEN.invite, "tcp://evil:1", TOKEN.key, TOKEN.origin, TOKEN.name,
        TOKEN.expires_ms, TOKEN.secret, TOKEN.signed().mac,
    )  # fmt: skip
    with pytest.raises(UsageError, match="altered"):
        parse_token(altered.to_text())


@given(st.integers(7, 200), st.integers(0, 63))
def test_a_damaged_token_is_refused_never_crashes(position: int, char: int) -> None:
    text = TOKEN.signed().to_text()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    position %= len(text)
    damaged = text[:position] + alphabet[char] + text[position + 1 :]
    try:
        parsed = parse_token(damaged)
    except UsageError:
        return
    # Only a change in the unused low bits of the last character reads the same bytes.
    assert parsed == TOKEN.signed()


def test_not_a_token() -> None:
    with pytest.raises(UsageError, match="not a Clare invitation"):
        parse_token("hello")


def test_the_join_frame_round_trips_and_nothing_else_passes() -> None:
    request = JoinRequest(TOKEN.signed(), "b", "tcp://10.0.0.2:8766", "origin-b")
    assert decode_join(request.encode()) == request
    with pytest.raises(ProtocolError):
        decode_join(b"\x81\xa1t\xa4push")
    with pytest.raises(ProtocolError):
        decode_join(b"\xc1")
    assert decode_reply(encode_reply(False, code="x", message="no"))["ok"] is False


def test_only_the_hash_of_the_secret_is_kept() -> None:
    assert secret_hash(b"s" * 32) != (b"s" * 32).hex()
    assert len(secret_hash(b"s" * 32)) == 64
