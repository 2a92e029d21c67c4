from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from clare.sessions.transcript import (
    AssistantRecord,
    SettingRecord,
    SkippedLine,
    TitleRecord,
    TranscriptParser,
    Usage,
    UserRecord,
    parse_timestamp_ms,
)

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


def _parse_whole(data: bytes) -> tuple[list[object], TranscriptParser]:
    parser = TranscriptParser()
    records: list[object] = [*parser.feed(data), *parser.flush()]
    return records, parser


def test_real_transcript_with_a_bash_call() -> None:
    records, parser = _parse_whole(ALPHA.read_bytes())
    users = [r for r in records if isinstance(r, UserRecord)]
    assistants = [r for r in records if isinstance(r, AssistantRecord)]
    assert [u.prompt for u in users] == ["list files", None]  # the second is the tool result
    assert {(u.cwd, u.git_branch, u.version) for u in users} == {
        ("/home/dev/work/alpha_svc", "feature/login", "2.1.328")
    }
    assert [a.message_id for a in assistants] == [
        "msg_85d5e8dfb82e4a01bf628c36",
        "msg_86ceebaf4f15432085fbfc2f",
    ]
    assert assistants[0].usage == Usage(12, 7, 0, 0)
    assert assistants[0].model == "claude-opus-5-5"
    assert not any(isinstance(r, SkippedLine) for r in records)
    assert parser.lines == 28
    assert parser.ignored_lines == 22
    settings = [(r.kind, r.value) for r in records if isinstance(r, SettingRecord)]
    assert settings == [("last-prompt", "list files")] * 2
    assert parser.offset == ALPHA.stat().st_size


def test_real_resumed_transcript_has_two_prompts() -> None:
    records, _ = _parse_whole(BETA.read_bytes())
    prompts = [r.prompt for r in records if isinstance(r, UserRecord)]
    assert prompts == ["hello there", "and again"]


def test_older_format_transcripts() -> None:
    records, _ = _parse_whole(REPRESENTATIVE.read_bytes())
    users = [r for r in records if isinstance(r, UserRecord)]
    assert users[0].prompt == "Hello Claude! Can you help me understand how Python decorators work?"
    assert users[0].timestamp_ms == parse_timestamp_ms("2025-06-14T10:00:00Z")
    titles = [r for r in records if isinstance(r, TitleRecord)]
    assert len(titles) == 1
    assert titles[0].kind == "summary"
    assert titles[0].title.startswith("User learned about Python decorators")


def test_older_format_edge_cases_skip_garbage_and_keep_going() -> None:
    records, _ = _parse_whole(EDGE_CASES.read_bytes())
    skipped = [r for r in records if isinstance(r, SkippedLine)]
    assert [s.reason for s in skipped] == ["garbage"] * 4  # "massive error", {"silly"}, 42, [1]
    data = EDGE_CASES.read_bytes()
    assert data[skipped[0].offset :].startswith(b'"massive error"')
    prompts = [r.prompt for r in records if isinstance(r, UserRecord) and r.prompt]
    # Slash-command echoes and their output are not prompts a person typed.
    assert not any(p.startswith(("<command-name>", "<local-command-", "Caveat:")) for p in prompts)
    assert any("中文" in p for p in prompts)
    assert isinstance(records[-1], TitleRecord)


def test_unknown_types_are_reported_not_fatal() -> None:
    data = line({"type": "brand-new-kind", "x": 1}) + line({"a": 1, "type": "other-new"})
    data += user("still parsed")
    records, parser = _parse_whole(data)
    assert [(type(r).__name__, getattr(r, "record_type", None)) for r in records] == [
        ("SkippedLine", "brand-new-kind"),
        ("SkippedLine", "other-new"),
        ("UserRecord", None),
    ]
    assert parser.ignored_lines == 0


def test_known_bookkeeping_is_skipped_silently() -> None:
    data = line({"type": "api-request-shape", "shape": {"messages": [{"type": "user"}]}})
    data += line({"parentUuid": None, "attachment": {"type": "date"}, "type": "attachment"})
    data += line({"parentUuid": None, "type": "system", "subtype": "compact_boundary"})
    records, parser = _parse_whole(data)
    assert records == []
    assert parser.ignored_lines == 3


def test_nested_wanted_type_inside_an_attachment_does_not_fool_the_fast_path() -> None:
    data = line(
        {
            "parentUuid": None,
            "attachment": {"type": "snapshot", "messages": [{"type": "user", "x": 1}]},
            "type": "attachment",
        }
    )
    records, parser = _parse_whole(data)
    assert records == []
    assert parser.ignored_lines == 1


def test_titles() -> None:
    data = line({"type": "custom-title", "customTitle": "Login work", "sessionId": "s1"})
    data += line({"type": "ai-title", "aiTitle": "Fix the login", "sessionId": "s1"})
    data += line({"type": "summary", "summary": "  ", "leafUuid": "x"})  # empty: nothing
    records, _ = _parse_whole(data)
    assert records == [
        TitleRecord("custom-title", "Login work", "s1"),
        TitleRecord("ai-title", "Fix the login", "s1"),
    ]


def test_meta_and_tool_results_are_not_prompts() -> None:
    meta = json.loads(user("injected"))
    meta["isMeta"] = True
    result = json.loads(user("x"))
    result["message"]["content"] = [{"type": "tool_result", "tool_use_id": "t", "content": "ok"}]
    blocks = json.loads(user("x"))
    blocks["message"]["content"] = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    records, _ = _parse_whole(line(meta) + line(result) + line(blocks))
    assert [r.prompt for r in records if isinstance(r, UserRecord)] == [None, None, "a\nb"]


def test_partial_line_waits_for_its_newline() -> None:
    data = user("hello")
    parser = TranscriptParser()
    assert parser.feed(data[:-10]) == []
    assert parser.pending_bytes == len(data) - 10
    assert parser.offset == 0
    records = parser.feed(data[-10:])
    assert [r.prompt for r in records if isinstance(r, UserRecord)] == ["hello"]
    assert parser.offset == len(data)
    assert parser.pending_bytes == 0


def test_nul_padding_and_blank_lines_are_harmless() -> None:
    data = b"\0\0\0" + user("padded") + b"\n\r\n" + b"\0\0\n"
    records, parser = _parse_whole(data)
    assert [r.prompt for r in records if isinstance(r, UserRecord)] == ["padded"]
    assert parser.lines == 1


def test_offsets_point_at_skipped_lines() -> None:
    data = user("a") + b"not json\n" + user("b") + b"{broken\n"
    records, _ = _parse_whole(data)
    offsets = [r.offset for r in records if isinstance(r, SkippedLine)]
    assert [data[o:].split(b"\n")[0] for o in offsets] == [b"not json", b"{broken"]


def test_timestamps() -> None:
    assert parse_timestamp_ms("1970-01-01T00:00:01.500Z") == 1500
    assert parse_timestamp_ms("1970-01-01T00:00:02Z") == 2000
    assert parse_timestamp_ms("yesterday") is None
    assert parse_timestamp_ms(12) is None


# ---- properties: whatever the bytes and however they are cut, nothing breaks ----

_LINES = [
    user("first"),
    assistant("m1", 3),
    assistant("m1", 7),
    line({"type": "summary", "summary": "S", "leafUuid": "x"}),
    line({"type": "queue-operation", "operation": "enqueue"}),
    line({"parentUuid": None, "attachment": {"type": "date"}, "type": "attachment"}),
    line({"type": "novel"}),
    b"garbage \xff\xfe\n",
    b"[1, 2]\n",
    b'{"type":"user", truncated\n',
    b"\n",
    user("second", branch="dev"),
]

transcripts = st.lists(
    st.one_of(st.sampled_from(_LINES), st.binary(max_size=40).map(lambda b: b + b"\n")),
    max_size=30,
).map(b"".join)


def _records_of_chunks(data: bytes, cuts: list[int]) -> list[object]:
    parser = TranscriptParser()
    records: list[object] = []
    last = 0
    for cut in sorted(cuts):
        records.extend(parser.feed(data[last:cut]))
        last = cut
    records.extend(parser.feed(data[last:]))
    records.extend(parser.flush())
    return records


@given(transcripts, st.lists(st.integers(min_value=0, max_value=2000), max_size=20))
def test_chunked_feed_equals_whole_feed(data: bytes, cuts: list[int]) -> None:
    whole, _ = _parse_whole(data)
    assert _records_of_chunks(data, [min(c, len(data)) for c in cuts]) == whole


@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    records, parser = _parse_whole(data)
    assert parser.offset == len(data)
    assert all(
        isinstance(r, (UserRecord, AssistantRecord, TitleRecord, SkippedLine)) for r in records
    )


@given(transcripts)
def test_fast_path_agrees_with_decoding_every_line(data: bytes) -> None:
    # Reference: decode every line; the fast path may only skip lines that
    # decoding would have skipped too.
    records, _ = _parse_whole(data)
    wanted = []
    for raw in data.split(b"\n"):
        try:
            obj = json.loads(raw.strip(b"\0").strip() or b"null")
        except ValueError:
            continue
        if isinstance(obj, dict) and obj.get("type") in ("user", "assistant"):
            wanted.append(obj["type"])
    got = [
        "user" if isinstance(r, UserRecord) else "assistant"
        for r in records
        if isinstance(r, (UserRecord, AssistantRecord))
    ]
    assert got == wanted


def test_the_newest_build_writes_nothing_unknown() -> None:
    for path in (NEWEST_INTERACTIVE, NEWEST_BG):
        records, parser = _parse_whole(path.read_bytes())
        assert not any(isinstance(r, SkippedLine) for r in records), path.name
        assert parser.offset == path.stat().st_size
    records, _ = _parse_whole(NEWEST_BG.read_bytes())
    settings = {(r.kind, r.value) for r in records if isinstance(r, SettingRecord)}
    assert settings == {
        ("agent-name", "bg-task"),
        ("mode", "normal"),
        ("permission-mode", "default"),
        ("last-prompt", "background prompt"),
    }
    titles = [(r.kind, r.title) for r in records if isinstance(r, TitleRecord)]
    assert titles[-1] == ("custom-title", "bg-task")


def test_the_oldest_build_supported_parses() -> None:
    records, _ = _parse_whole(OLDEST.read_bytes())
    assert not any(isinstance(r, SkippedLine) for r in records)
    prompts = [r.prompt for r in records if isinstance(r, UserRecord) and r.prompt]
    assert prompts[:2] == ["run the allowed command", "now one that needs permission"]
    assert {r.version for r in records if isinstance(r, AssistantRecord)} == {"2.0.77"}


def test_a_setting_without_a_value_is_nothing() -> None:
    records, _ = _parse_whole(line({"type": "mode", "sessionId": "s"}))
    assert records == []
