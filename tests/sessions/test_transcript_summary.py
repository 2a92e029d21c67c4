from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clare.sessions.transcript import TranscriptParser, Usage, parse_timestamp_ms
from clare.sessions.transcript_summary import TranscriptSummary

from .transcript_data import (
    ALPHA,
    BETA,
    EDGE_CASES,
    NEWEST_BG,
    NEWEST_INTERACTIVE,
    OLDEST,
    REPRESENTATIVE,
    assistant,
    line,
    user,
)


def _summary(data: bytes) -> TranscriptSummary:
    parser = TranscriptParser()
    summary = TranscriptSummary()
    summary.add_all(parser.feed(data))
    summary.add_all(parser.flush())
    return summary


def test_real_transcript_summary() -> None:
    s = _summary(ALPHA.read_bytes())
    assert s.session_id == "7789500f-a99f-4ab5-b280-39aa6ae74086"
    assert s.cwd == "/home/dev/work/alpha_svc"
    assert s.git_branch == "feature/login"
    assert s.version == "2.1.328"
    assert s.model == "claude-opus-5-5"
    assert s.first_prompt == "list files"
    assert s.prompts == 1
    assert s.title is None
    assert s.started_at_ms == parse_timestamp_ms("2026-11-24T01:21:01.084Z")
    assert s.last_activity_ms == parse_timestamp_ms("2026-11-24T01:21:01.231Z")
    # Two API messages of 12 in / 7 out each; Claude Code's own cost-state agrees.
    assert s.usage == Usage(24, 14, 0, 0)
    assert s.api_messages == 2
    assert (s.garbage_lines, s.unknown_lines) == (0, 0)


def test_resumed_session_keeps_first_prompt_and_counts_both() -> None:
    s = _summary(BETA.read_bytes())
    assert (s.first_prompt, s.last_prompt, s.prompts) == ("hello there", "and again", 2)
    assert s.cwd == "/home/dev/work/beta web"
    assert s.git_branch == "HEAD"
    assert s.usage == Usage(24, 14, 0, 0)


def test_older_format_summary_and_garbage_counts() -> None:
    s = _summary(REPRESENTATIVE.read_bytes())
    assert s.title is not None
    assert s.title.startswith("User learned about Python decorators")
    assert s.model == "claude-3-sonnet-20240229"
    assert s.git_branch is None
    edge = _summary(EDGE_CASES.read_bytes())
    assert edge.garbage_lines == 4
    assert edge.session_id == "edge_cases"


def test_one_message_over_several_lines_counts_once() -> None:
    data = assistant("m1", 3, uuid="a") + assistant("m1", 3, uuid="b") + assistant("m1", 3)
    s = _summary(data)
    assert s.usage == Usage(10, 3, 100, 5)
    assert s.api_messages == 1


def test_a_later_larger_report_of_the_same_message_replaces_the_earlier() -> None:
    s = _summary(assistant("m1", 1, uuid="a") + assistant("m2", 4) + assistant("m1", 9, uuid="b"))
    assert s.usage == Usage(20, 13, 200, 10)


def test_titles_prefer_the_persons_own() -> None:
    s = _summary(
        line({"type": "summary", "summary": "S"}) + line({"type": "ai-title", "aiTitle": "A"})
    )
    assert s.title == "A"
    s.add_all(TranscriptParser().feed(line({"type": "custom-title", "customTitle": "C"})))
    assert s.title == "C"


def test_branch_follows_the_latest_record_and_sidechains_do_not_move_it() -> None:
    side = json.loads(user("sub", branch="subagent-branch"))
    side["isSidechain"] = True
    s = _summary(user("a", branch="main") + user("b", branch="feature") + line(side))
    assert s.git_branch == "feature"
    assert (s.first_prompt, s.prompts) == ("a", 2)


def test_state_round_trips() -> None:
    s = _summary(ALPHA.read_bytes() + assistant("m9", 5))
    again = TranscriptSummary.from_dict(json.loads(json.dumps(s.to_dict())))
    assert again == s
    again.add_all(TranscriptParser().feed(assistant("m9", 5)))
    assert again.usage == s.usage  # the known message is still known


@pytest.mark.parametrize("state", [{}, {"v": 99}, {"v": 1}, {"v": 1, "usage": "x"}])
def test_bad_state_is_a_value_error(state: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="state"):
        TranscriptSummary.from_dict(state)


messages = st.lists(
    st.tuples(st.sampled_from(["m1", "m2", "m3"]), st.integers(min_value=0, max_value=50)),
    max_size=25,
)


@given(messages, st.lists(st.integers(min_value=0, max_value=5000), max_size=8))
def test_usage_is_the_sum_of_each_messages_largest_report(
    reports: list[tuple[str, int]], cuts: list[int]
) -> None:
    data = b"".join(assistant(m, n, uuid=f"u{i}") for i, (m, n) in enumerate(reports))
    expected_out = sum(max(n for m2, n in reports if m2 == m) for m in {m for m, _ in reports})
    parser = TranscriptParser()
    summary = TranscriptSummary()
    last = 0
    for cut in sorted(min(c, len(data)) for c in cuts):
        summary.add_all(parser.feed(data[last:cut]))
        # Saving and restoring in the middle changes nothing.
        summary = TranscriptSummary.from_dict(summary.to_dict())
        last = cut
    summary.add_all(parser.feed(data[last:]))
    assert summary.usage.output_tokens == expected_out
    assert summary.usage.input_tokens == 10 * len({m for m, _ in reports})


def test_newest_build_summaries() -> None:
    s = _summary(NEWEST_INTERACTIVE.read_bytes())
    assert (s.first_prompt, s.last_prompt, s.prompts) == (
        "run the allowed command", "now one that needs permission", 2)  # fmt: skip
    assert (s.version, s.git_branch, s.mode, s.permission_mode) == (
        "2.1.332", "feature/login", "normal", "default")  # fmt: skip
    assert s.api_messages == 4  # one per message id, however many lines each spans
    assert (s.garbage_lines, s.unknown_lines) == (0, 0)
    bg = _summary(NEWEST_BG.read_bytes())
    assert (bg.title, bg.agent_name, bg.last_prompt) == ("bg-task", "bg-task", "background prompt")
    again = TranscriptSummary.from_dict(json.loads(json.dumps(bg.to_dict())))
    assert (again.agent_name, again.permission_mode) == ("bg-task", "default")


def test_oldest_build_summary() -> None:
    s = _summary(OLDEST.read_bytes())
    assert (s.version, s.git_branch, s.first_prompt) == (
        "2.0.77", "feature/login", "run the allowed command")  # fmt: skip
    assert s.api_messages == 4
    assert s.usage.output_tokens > 0
    assert (s.mode, s.permission_mode, s.agent_name) == (None, None, None)


def test_state_saved_before_settings_were_read_still_loads() -> None:
    state = _summary(ALPHA.read_bytes()).to_dict()
    for key in ("mode", "permission_mode", "agent_name"):
        del state[key]
    assert TranscriptSummary.from_dict(state).first_prompt == "list files"
