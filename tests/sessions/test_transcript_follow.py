from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clare.sessions.transcript import Usage, UserRecord
from clare.sessions.transcript_follow import (
    TranscriptCursor,
    TranscriptFollower,
    fingerprint,
    restart_reason,
)

from .transcript_data import ALPHA, NEWEST_INTERACTIVE, OLDEST, assistant, user

if TYPE_CHECKING:
    from pathlib import Path


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def test_reads_only_what_was_appended(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(user("one") + assistant("m1", 2))
    follower = TranscriptFollower(path)
    first = follower.poll()
    assert first.restarted is None
    assert first.bytes_read == path.stat().st_size
    assert follower.poll().records == []
    _append(path, user("two"))
    second = follower.poll()
    assert [r.prompt for r in second.records if isinstance(r, UserRecord)] == ["two"]
    assert follower.summary.prompts == 2
    assert follower.cursor is not None
    assert follower.cursor.offset == path.stat().st_size


def test_partial_line_is_completed_by_the_next_poll(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    data = user("hello")
    path.write_bytes(data[:20])
    follower = TranscriptFollower(path)
    assert follower.poll().records == []
    assert follower.cursor is not None
    assert follower.cursor.offset == 0
    _append(path, data[20:])
    assert follower.summary.first_prompt is None
    follower.poll()
    assert follower.summary.first_prompt == "hello"


def test_truncation_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(user("old") + assistant("m1", 5))
    follower = TranscriptFollower(path)
    follower.poll()
    with open(path, "r+b") as f:
        f.truncate(0)
    path.write_bytes(user("new"))  # same inode, shorter
    result = follower.poll()
    assert result.restarted == "truncated"
    assert (follower.summary.first_prompt, follower.summary.usage) == ("new", Usage())


def test_replacement_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(user("old"))
    follower = TranscriptFollower(path)
    follower.poll()
    other = tmp_path / "tmp.jsonl"
    other.write_bytes(user("new") + user("newer"))
    os.replace(other, path)
    result = follower.poll()
    assert result.restarted == "replaced"
    assert (follower.summary.first_prompt, follower.summary.prompts) == ("new", 2)


def test_in_place_rewrite_of_equal_or_longer_length_starts_over(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(user("aaaa"))
    follower = TranscriptFollower(path)
    follower.poll()
    with open(path, "r+b") as f:  # same inode, same size, other bytes, then more
        f.write(user("bbbb") + user("cccc"))
    result = follower.poll()
    assert result.restarted == "rewritten"
    assert (follower.summary.first_prompt, follower.summary.prompts) == ("bbbb", 2)


def test_restart_reason_is_pure() -> None:
    mark = fingerprint(b'{"first line', b"...end of the last line}\n")
    cursor = TranscriptCursor("/t", dev=1, inode=2, size=100, offset=90, fingerprint=mark)
    assert restart_reason(cursor, dev=1, inode=2, size=120, fingerprint=mark) is None
    assert restart_reason(cursor, dev=1, inode=3, size=120, fingerprint=mark) == "replaced"
    assert restart_reason(cursor, dev=9, inode=2, size=120, fingerprint=mark) == "replaced"
    assert restart_reason(cursor, dev=1, inode=2, size=80, fingerprint=mark) == "truncated"
    other = fingerprint(b'{"first line', b"another end}\n")
    assert restart_reason(cursor, dev=1, inode=2, size=120, fingerprint=other) == "rewritten"
    # Where the head ends and the tail starts matters too.
    assert fingerprint(b"ab", b"c") != fingerprint(b"a", b"bc")


def test_missing_file_raises_and_keeps_the_cursor(tmp_path: Path) -> None:
    follower = TranscriptFollower(tmp_path / "gone.jsonl")
    with pytest.raises(FileNotFoundError):
        follower.poll()
    assert follower.cursor is None


def test_max_bytes_bounds_one_poll(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(user(f"p{i}") for i in range(50)))
    follower = TranscriptFollower(path)
    polls = 0
    while follower.poll(max_bytes=1000).bytes_read:
        polls += 1
    assert polls > 5
    assert follower.summary.prompts == 50


def test_state_survives_a_reload_and_new_lines_count_once(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(ALPHA.read_bytes() + assistant("m1", 5)[:30])
    follower = TranscriptFollower(path)
    follower.poll()
    state = json.loads(json.dumps(follower.to_dict()))
    _append(path, assistant("m1", 5)[30:] + assistant("m1", 5, uuid="again"))
    reloaded = TranscriptFollower.from_dict(state)
    assert reloaded.poll().restarted is None
    assert reloaded.summary.usage == Usage(24 + 10, 14 + 5, 100, 5)
    assert reloaded.summary.first_prompt == "list files"


def test_unpolled_state_reloads(tmp_path: Path) -> None:
    follower = TranscriptFollower.from_dict(TranscriptFollower(tmp_path / "x").to_dict())
    assert follower.cursor is None
    assert follower.path == tmp_path / "x"


@pytest.mark.parametrize("state", [{}, {"path": "/x"}, {"path": "/x", "summary": {"v": 1}}])
def test_bad_state_is_a_value_error(state: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="state"):
        TranscriptFollower.from_dict(state)


_GROWTH = st.lists(
    st.one_of(
        st.sampled_from([user("p"), assistant("m1", 4), assistant("m2", 6), b"junk\n"]),
        st.binary(max_size=30),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(_GROWTH, st.booleans(), st.booleans())
def test_growth_in_steps_equals_one_read(
    tmp_path_factory: pytest.TempPathFactory, steps: list[bytes], reload: bool, truncate: bool
) -> None:
    path = tmp_path_factory.mktemp("follow") / "s.jsonl"
    path.write_bytes(b"")
    follower = TranscriptFollower(path)
    for step in steps:
        _append(path, step)
        follower.poll()
        if reload:
            follower = TranscriptFollower.from_dict(follower.to_dict())
    if truncate:
        keep = path.read_bytes()[: len(path.read_bytes()) // 2]
        with open(path, "r+b") as f:
            f.truncate(len(keep))
        follower.poll()
    reference = TranscriptFollower(path)
    reference.poll()
    assert follower.summary == reference.summary


@pytest.mark.parametrize("source", [NEWEST_INTERACTIVE, OLDEST], ids=["2.1.332", "2.0.77"])
def test_real_transcripts_read_in_small_polls_sum_up_as_a_whole(
    tmp_path: Path, source: Path
) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(source.read_bytes())
    bit_by_bit = TranscriptFollower(path)
    while bit_by_bit.poll(max_bytes=700).bytes_read:
        pass
    whole = TranscriptFollower(path)
    whole.poll()
    assert bit_by_bit.summary.to_dict() == whole.summary.to_dict()
    assert whole.summary.usage.output_tokens > 0
