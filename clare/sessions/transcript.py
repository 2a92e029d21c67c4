"""Claude Code transcripts as a stream of typed records: bytes in, records out.

A transcript (``projects/<folder>/<sessionId>.jsonl``) is append-only JSON
lines of many types. Clare needs few of them: ``user`` and ``assistant`` lines
(prompts, cwd, git branch, version, model, token usage) and the title lines
(``summary``, ``custom-title``, ``ai-title``). The rest is bookkeeping, some of
it large (``api-request-shape``, prompt-snapshot attachments run to tens of
kilobytes a line), so the parser avoids decoding what it can rule out cheaply:

- A line that starts ``{"type":"<t>"`` names its type in its first key: the
  type is read from the prefix, and a known bookkeeping type is skipped unread.
- Otherwise a record of a wanted type must contain ``"type":"<t>"`` literally
  at its top level, and that text cannot occur inside a JSON string (the quotes
  would be escaped there). A line holding none of those markers is no wanted
  record; an ``attachment`` line is recognised by its key and skipped.
- Everything else is decoded. A line that is not a JSON object with a string
  ``type`` counts as garbage; an unknown type is reported and skipped.

Nothing here is fatal: bad lines become :class:`SkippedLine` records. A partial
last line is kept until the next :meth:`TranscriptParser.feed` completes it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = [
    "KNOWN_TYPES",
    "SETTING_TYPES",
    "AssistantRecord",
    "Record",
    "SettingRecord",
    "SkippedLine",
    "TitleRecord",
    "TranscriptParser",
    "Usage",
    "UserRecord",
    "parse_timestamp_ms",
]

_TITLE_TYPES = ("summary", "custom-title", "ai-title")
#: Records holding one setting of the session, by the key that holds its value.
_SETTING_KEYS = {
    "last-prompt": "lastPrompt",
    "mode": "mode",
    "permission-mode": "permissionMode",
    "agent-name": "agentName",
}
SETTING_TYPES: frozenset[str] = frozenset(_SETTING_KEYS)
_WANTED = frozenset({"user", "assistant", *_TITLE_TYPES, *SETTING_TYPES})

#: Record types Claude Code writes that Clare reads nothing from (2.1.332 and older).
KNOWN_TYPES: frozenset[str] = frozenset(
    {
        "system",
        "attachment",
        "progress",
        "file-history-snapshot",
        "file-history-delta",
        "continued-in",
        "resume-head-vouch",
        "content-replacement",
        "data-flow-records",
        "data-flow-incomplete",
        "derived-from",
        "api-request-shape",
        "api-request-blob",
        "api-request",
        "api-request-resumed",
        "fork-context-ref",
        "frame-link",
        "ended-by-model",
        "tag",
        "relocated",
        "agent-color",
        "agent-setting",
        "pr-link",
        "artifact-comment-monitor",
        "artifact-autoreact-ledger",
        "bridge-session",
        "history-suppression",
        "attribution-snapshot",
        "isolation-latch",
        "session-owner",
        "dev-mods",
        "memory-mode",
        "atis-latch",
        "tools-used",
        "worktree-state",
        "cost-state",
        "queue-operation",
        "observer-ref",
        "repl-mode",
    }
)

# Both spellings: Claude Code writes compact JSON, other tools write ``": "``.
# One regular expression, not a substring test per wanted type: the test runs over
# every long line (attachments are most of a transcript's bytes), and one pass
# that stops at each ``"type":`` is some ten times faster than nine scans.
_MARKER = re.compile(
    rb'"type": ?"(?:' + b"|".join(re.escape(t.encode()) for t in sorted(_WANTED)) + rb')"'
)
_ATTACHMENT_KEYS = (b'"attachment":{', b'"attachment": {')

# A person's prompt never starts like these: Claude Code writes them as `user`
# lines for slash commands, their output and interruptions.
_SYNTHETIC_PROMPTS = (
    "<command-name>",
    "<command-message>",
    "<local-command-",
    "<system-reminder>",
    "Caveat: The messages below were generated",
    "[Request interrupted",
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens of one API message, or a sum of them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    #: Of the cache writes, those kept for an hour (priced higher than the 5-minute
    #: ones); builds that do not split them report 0 here.
    cache_creation_1h_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_creation_1h_tokens + other.cache_creation_1h_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens - other.input_tokens,
            self.output_tokens - other.output_tokens,
            self.cache_read_input_tokens - other.cache_read_input_tokens,
            self.cache_creation_input_tokens - other.cache_creation_input_tokens,
            self.cache_creation_1h_tokens - other.cache_creation_1h_tokens,
        )

    def max(self, other: Usage) -> Usage:
        """Field by field maximum: the later of two reports on one message."""
        return Usage(
            max(self.input_tokens, other.input_tokens),
            max(self.output_tokens, other.output_tokens),
            max(self.cache_read_input_tokens, other.cache_read_input_tokens),
            max(self.cache_creation_input_tokens, other.cache_creation_input_tokens),
            max(self.cache_creation_1h_tokens, other.cache_creation_1h_tokens),
        )


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A ``user`` line: a person's prompt, a tool result, or text Claude Code added.

    ``prompt`` is the text only when a person typed it (not meta, not a tool
    result, not a slash command's echo).
    """

    uuid: str | None
    session_id: str | None
    timestamp_ms: int | None
    cwd: str | None
    git_branch: str | None
    version: str | None
    is_sidechain: bool
    prompt: str | None


@dataclass(frozen=True, slots=True)
class AssistantRecord:
    """An ``assistant`` line; one API message may span several, sharing ``message_id``."""

    uuid: str | None
    session_id: str | None
    timestamp_ms: int | None
    cwd: str | None
    git_branch: str | None
    version: str | None
    is_sidechain: bool
    message_id: str | None
    model: str | None
    usage: Usage | None


@dataclass(frozen=True, slots=True)
class TitleRecord:
    """A title for the session: Claude Code's ``summary``, a ``custom-title`` or an ``ai-title``."""

    kind: Literal["summary", "custom-title", "ai-title"]
    title: str
    session_id: str | None


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line that was not understood; ``offset`` is where it starts in the file."""

    reason: Literal["garbage", "unknown-type"]
    record_type: str | None
    offset: int


@dataclass(frozen=True, slots=True)
class SettingRecord:
    """One setting of the session, as Claude Code notes it beside the conversation:
    the ``last-prompt``, the ``mode`` (normal, plan ...), the ``permission-mode``
    (default, acceptEdits, plan, bypassPermissions ...) or the ``agent-name``."""

    kind: str  # one of SETTING_TYPES
    value: str
    session_id: str | None


Record = UserRecord | AssistantRecord | TitleRecord | SettingRecord | SkippedLine


class TranscriptParser:
    """Turns transcript bytes into records, one complete line at a time.

    ``offset`` is the file position of the first byte that will be fed; after
    each feed, :attr:`offset` is the position just past the last complete line,
    which is where a reader resumes after a restart (a partial line is re-read).
    """

    def __init__(self, offset: int = 0) -> None:
        self._offset = offset
        self._pending = b""
        #: Complete lines seen, and those skipped as known bookkeeping.
        self.lines = 0
        self.ignored_lines = 0

    @property
    def offset(self) -> int:
        return self._offset

    @property
    def pending_bytes(self) -> int:
        """Bytes of an unfinished last line, held until its newline arrives."""
        return len(self._pending)

    def feed(self, data: bytes) -> list[Record]:
        """Parse every line ``data`` completes; keep the unfinished tail for later."""
        if not data:
            return []
        if self._pending:
            data = self._pending + data
        end = data.rfind(b"\n")
        if end < 0:
            self._pending = data
            return []
        self._pending = data[end + 1 :]
        records: list[Record] = []
        position = self._offset
        for line in data[:end].split(b"\n"):
            start = position
            position += len(line) + 1
            record = self._parse_line(line, start)
            if record is not None:
                records.append(record)
        self._offset = position
        return records

    def flush(self) -> list[Record]:
        """Parse the unfinished last line as if its newline had come.

        For a file known to be complete (its writer has exited); a live file's
        last line may still be growing, and is better left for the next feed.
        """
        line, self._pending = self._pending, b""
        start = self._offset
        self._offset += len(line)
        record = self._parse_line(line, start)
        return [] if record is None else [record]

    def _parse_line(self, line: bytes, offset: int) -> Record | None:
        # Claude Code pads lines it rewrites in place with NUL bytes.
        if line[:1] == b"\0":
            line = line.lstrip(b"\0")
        line = line.strip()
        if not line:
            return None
        self.lines += 1
        complete = line.endswith(b"}")
        if line.startswith((b'{"type":"', b'{"type": "')):
            start = line.index(b'"', 8) + 1
            prefix_type = line[start : line.find(b'"', start)]
            if complete and prefix_type.decode("ascii", "replace") in KNOWN_TYPES:
                self.ignored_lines += 1
                return None
        elif complete and _MARKER.search(line) is None and any(k in line for k in _ATTACHMENT_KEYS):
            self.ignored_lines += 1
            return None
        return self._decode(line, offset)

    def _decode(self, line: bytes, offset: int) -> Record | None:
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
            # RecursionError: nesting deeper than Python's stack, never Claude Code's line.
            return SkippedLine("garbage", None, offset)
        record_type = obj.get("type") if isinstance(obj, dict) else None
        if not isinstance(record_type, str):
            return SkippedLine("garbage", None, offset)
        if record_type == "assistant":
            return _assistant(obj)
        if record_type == "user":
            return _user(obj)
        if record_type in _TITLE_TYPES:
            return _title(record_type, obj)
        if record_type in SETTING_TYPES:
            value = obj.get(_SETTING_KEYS[record_type])
            if not isinstance(value, str) or not value:
                return None
            return SettingRecord(record_type, value, _str(obj.get("sessionId")))
        if record_type in KNOWN_TYPES:
            self.ignored_lines += 1
            return None
        return SkippedLine("unknown-type", record_type, offset)


def parse_timestamp_ms(value: object) -> int | None:
    """Milliseconds since the epoch from an ISO 8601 stamp (``...Z``), else None."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _user(obj: dict[str, Any]) -> UserRecord:
    message = obj.get("message")
    prompt = None
    if isinstance(message, dict) and not obj.get("isMeta"):
        prompt = _prompt_text(message.get("content"))
    return UserRecord(
        uuid=_str(obj.get("uuid")),
        session_id=_str(obj.get("sessionId")),
        timestamp_ms=parse_timestamp_ms(obj.get("timestamp")),
        cwd=_str(obj.get("cwd")),
        git_branch=_str(obj.get("gitBranch")),
        version=_str(obj.get("version")),
        is_sidechain=obj.get("isSidechain") is True,
        prompt=prompt,
    )


def _prompt_text(content: object) -> str | None:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = []
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_result":
                return None
            if block.get("type") == "text" and isinstance(block.get("text"), str):
                parts.append(block["text"])
        text = "\n".join(parts)
    else:
        return None
    text = text.strip()
    if not text or text.startswith(_SYNTHETIC_PROMPTS):
        return None
    return text


def _assistant(obj: dict[str, Any]) -> AssistantRecord:
    message = obj.get("message")
    message = message if isinstance(message, dict) else {}
    raw_usage = message.get("usage")
    usage = None
    if isinstance(raw_usage, dict):
        split = raw_usage.get("cache_creation")
        written = _int(raw_usage.get("cache_creation_input_tokens"))
        hour = _int(split.get("ephemeral_1h_input_tokens")) if isinstance(split, dict) else 0
        usage = Usage(
            _int(raw_usage.get("input_tokens")),
            _int(raw_usage.get("output_tokens")),
            _int(raw_usage.get("cache_read_input_tokens")),
            written,
            min(hour, written),
        )
    return AssistantRecord(
        uuid=_str(obj.get("uuid")),
        session_id=_str(obj.get("sessionId")),
        timestamp_ms=parse_timestamp_ms(obj.get("timestamp")),
        cwd=_str(obj.get("cwd")),
        git_branch=_str(obj.get("gitBranch")),
        version=_str(obj.get("version")),
        is_sidechain=obj.get("isSidechain") is True,
        message_id=_str(message.get("id")),
        model=_str(message.get("model")),
        usage=usage,
    )


def _title(kind: str, obj: dict[str, Any]) -> TitleRecord | None:
    title: object
    if kind == "custom-title":
        title = obj.get("customTitle")
    elif kind == "ai-title":
        title = obj.get("aiTitle")
    else:
        title = obj.get("summary")
    if not isinstance(title, str) or not title.strip():
        return None
    session_id = _str(obj.get("sessionId"))
    if kind == "custom-title":
        return TitleRecord("custom-title", title.strip(), session_id)
    if kind == "ai-title":
        return TitleRecord("ai-title", title.strip(), session_id)
    return TitleRecord("summary", title.strip(), session_id)
