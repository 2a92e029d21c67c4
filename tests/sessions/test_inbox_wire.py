from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.sessions.inbox_wire import (
    AuthLine,
    LineDecoder,
    MalformedInboxLine,
    OtherLine,
    UserLine,
    decode_line,
    encode_auth,
    encode_delivery,
    encode_user,
    key_file_name,
    parse_key_file,
)


def test_a_user_line_is_what_claude_code_reads() -> None:
    line = encode_user("hello", session_id="s-1")
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    assert json.loads(line) == {
        "type": "user",
        "message": {"role": "user", "content": "hello"},
        "from": "clare",
        "session_id": "s-1",
    }


def test_a_delivery_authenticates_first_when_it_has_a_token() -> None:
    first, second = LineDecoder().feed(encode_delivery("hi", session_id="s", token="t0k"))
    assert first == AuthLine("t0k")
    assert second == UserLine("hi", "clare", "s")
    assert LineDecoder().feed(encode_delivery("hi", session_id=None, token=None)) == [
        UserLine("hi", "clare", None)
    ]


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(ValueError, match="text"):
        encode_user("")


@given(st.text(min_size=1, max_size=300), st.integers(min_value=1, max_value=64))
def test_any_text_is_one_line_and_decodes_back_read_in_any_pieces(text: str, step: int) -> None:
    # Newlines, U+2028 and quotes inside a message must never split or end its line.
    data = encode_auth("k") + encode_user(text, session_id="s")
    assert data.count(b"\n") == 2
    decoder = LineDecoder()
    lines = []
    for i in range(0, len(data), step):
        lines += decoder.feed(data[i : i + step])
    assert lines == [AuthLine("k"), UserLine(text, "clare", "s")]
    assert decoder.close() == []


def test_a_last_line_without_newline_is_read_at_the_close() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b'{"type":"auth","token":"a"}') == []
    assert decoder.close() == [AuthLine("a")]


@pytest.mark.parametrize(
    "line",
    [b"not json", b"[1]", b'{"type": 3}', b'{"type":"user"}', b'{"type":"user","message":{}}',
     b"\xff\xfe", b"[" * 100_000],
)  # fmt: skip
def test_malformed_lines_raise_a_protocol_error(line: bytes) -> None:
    with pytest.raises(MalformedInboxLine):
        decode_line(line)


def test_lines_of_other_types_pass_as_they_are() -> None:
    assert decode_line(b'{"type":"control","action":"rename","name":"x"}') == OtherLine(
        "control", {"type": "control", "action": "rename", "name": "x"}
    )


def test_the_key_file_is_named_by_pid_and_the_sockets_sha256() -> None:
    # As Claude Code 2.1.328 names it beside /tmp/cc-socks/20309.sock's session file.
    assert key_file_name(20309, "/tmp/cc-socks/20309.sock") == (
        "20309.1a062d894caecfebab744aaf99a0ccf9c8f05f38f4554e03da14a924fb3eb960.key"
    )


@pytest.mark.parametrize(
    ("data", "token"),
    [(b'{"peerToken":"a106","procStart":"1"}', "a106"), (b"{}", None), (b"nope", None),
     (b'{"peerToken":""}', None), (b"[]", None)],
)  # fmt: skip
def test_the_peer_token_is_read_from_a_key_file(data: bytes, token: str | None) -> None:
    assert parse_key_file(data) == token
