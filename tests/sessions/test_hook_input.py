from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.core.ids import MAX_SESSION_ID
from clare.sessions.hook_input import HookCall, parse_call, read_bounded

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
BUILDS = ("claude-code-2.0.77", "claude-code-2.1.332")


def calls(build: str, event: str) -> list[HookCall]:
    lines = (FIXTURES / build / "hooks" / f"{event}.jsonl").read_bytes().splitlines()
    parsed = [parse_call(line) for line in lines]
    assert all(c is not None for c in parsed)
    return [c for c in parsed if c is not None]


@pytest.mark.parametrize("build", BUILDS)
def test_real_hook_calls_parse(build: str) -> None:
    (start, *_) = calls(build, "SessionStart")
    assert (start.event, start.source, start.cwd) == (
        "SessionStart", "startup", "/home/dev/work/alpha_svc")  # fmt: skip
    assert start.transcript_path.endswith(f"/{start.session}.jsonl")
    (note,) = calls(build, "Notification")
    assert note.notification_type == "permission_prompt"
    assert note.message.startswith("Claude needs your permission")
    assert all(c.background_tasks == 0 for c in calls(build, "Stop"))
    assert calls(build, "UserPromptSubmit")[0].prompt == "run the allowed command"


def test_a_background_session_start_names_its_title() -> None:
    titles = [c.title for c in calls("claude-code-2.1.332", "SessionStart")]
    assert titles == ["", "bg-task"]


@pytest.mark.parametrize(
    ("tasks", "running"),
    [
        ([], 0),
        (["b1", "b2"], 2),
        ([{"id": "b1", "status": "running"}, {"id": "b2", "status": "completed"}], 1),
        ("not a list", 0),
    ],
)
def test_stop_counts_the_background_tasks_still_running(tasks: object, running: int) -> None:
    raw = json.dumps({"session_id": "s", "hook_event_name": "Stop", "background_tasks": tasks})
    call = parse_call(raw.encode())
    assert call is not None
    assert call.background_tasks == running


def test_session_ids_over_the_bound_are_no_call() -> None:
    ok = json.dumps({"session_id": "s" * MAX_SESSION_ID}).encode()
    too_long = json.dumps({"session_id": "s" * (MAX_SESSION_ID + 1)}).encode()
    assert parse_call(ok, "Stop") is not None
    assert parse_call(too_long, "Stop") is None


def test_read_stops_at_the_deadline_of_a_pipe_left_open() -> None:
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b'{"session_id": "s1"')
        with os.fdopen(read_end, "rb", buffering=0) as stream:
            assert read_bounded(stream, timeout_s=0.05) is None
    finally:
        os.close(write_end)


def test_read_stops_past_the_byte_bound() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"x" * 100)
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as stream:
        assert read_bounded(stream, max_bytes=99) is None
    assert read_bounded(io.BytesIO(b"x" * 100), max_bytes=99) is None
    assert read_bounded(io.BytesIO(b"x" * 99), max_bytes=99) == b"x" * 99


def test_read_takes_a_closed_pipe_whole() -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"session_id": "s1"}')
    os.close(write_end)
    with os.fdopen(read_end, "rb", buffering=0) as stream:
        assert read_bounded(stream) == b'{"session_id": "s1"}'


@given(st.binary(max_size=2000))
def test_any_input_is_a_call_or_nothing(raw: bytes) -> None:
    call = parse_call(raw, "Stop")
    assert call is None or 0 < len(call.session) <= MAX_SESSION_ID


@given(
    st.dictionaries(
        st.sampled_from(["session_id", "cwd", "prompt", "message", "notification_type",
                         "source", "background_tasks", "session_title", "transcript_path"]),
        st.none() | st.integers() | st.text(max_size=5000) | st.lists(st.text(max_size=3)),
    )
)  # fmt: skip
def test_every_field_is_bounded(data: dict[str, object]) -> None:
    call = parse_call(json.dumps(data).encode(), "Notification")
    if call is None:
        return
    assert len(call.prompt) <= 65_536
    assert len(call.message) <= 300
    assert max(len(call.cwd), len(call.transcript_path)) <= 4096
    assert max(len(call.notification_type), len(call.source)) <= 64
