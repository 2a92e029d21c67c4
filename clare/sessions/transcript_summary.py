"""What one transcript says about its session, accumulated record by record.

Token usage is the subtle part. Claude Code writes one ``assistant`` line per
content block of an API message, and every line repeats that message's
``usage``; summing lines would count a message several times. So usage is kept
per ``message.id`` and a message's total is the field-wise maximum of what its
lines report (a streamed line may carry a smaller, earlier count than a later
one). A line without a message id is keyed by its own uuid. The same totals are
kept per model (``usage_by_model``), each message under the model that answered
it, since prices are per model and a session can change model mid-way.

The summary is plain data: :meth:`TranscriptSummary.to_dict` and
:meth:`TranscriptSummary.from_dict` carry it across restarts of the poller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clare.sessions.transcript import (
    AssistantRecord,
    SettingRecord,
    SkippedLine,
    TitleRecord,
    Usage,
    UserRecord,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clare.sessions.transcript import Record

__all__ = ["TranscriptSummary"]

_STATE_VERSION = 2  # 2: usage per model (an older state is read again)


@dataclass
class TranscriptSummary:
    """The facts about a session that its transcript has told so far.

    ``cwd``, ``git_branch``, ``version`` and ``model`` are the latest seen on the
    main thread (a branch or model can change mid-session); ``first_prompt`` is
    the first text a person typed. ``mode``, ``permission_mode`` and
    ``agent_name`` are the latest settings Claude Code noted (2.1 and later).
    Times are milliseconds since the epoch.
    """

    session_id: str | None = None
    cwd: str | None = None
    git_branch: str | None = None
    version: str | None = None
    model: str | None = None
    first_prompt: str | None = None
    last_prompt: str | None = None
    prompts: int = 0
    summary: str | None = None
    custom_title: str | None = None
    ai_title: str | None = None
    mode: str | None = None
    permission_mode: str | None = None
    agent_name: str | None = None
    started_at_ms: int | None = None
    last_activity_ms: int | None = None
    usage: Usage = field(default_factory=Usage)
    garbage_lines: int = 0
    unknown_lines: int = 0
    usage_by_model: dict[str, Usage] = field(default_factory=dict)
    _message_usage: dict[str, Usage] = field(default_factory=dict, repr=False)
    _message_model: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str | None:
        """The best title: one the person set, else Claude Code's, else its summary."""
        return self.custom_title or self.ai_title or self.summary

    @property
    def api_messages(self) -> int:
        """Distinct API messages seen (not lines)."""
        return len(self._message_usage)

    def usage_counts(self, max_models: int = 16) -> dict[str, tuple[int, ...]]:
        """Usage by model as plain counts: (input, output, cache writes, cache reads,
        1-hour cache writes), the shape a session snapshot carries."""
        return {
            model: (
                u.input_tokens,
                u.output_tokens,
                u.cache_creation_input_tokens,
                u.cache_read_input_tokens,
                u.cache_creation_1h_tokens,
            )
            for model, u in list(self.usage_by_model.items())[:max_models]
        }

    def add(self, record: Record) -> None:
        """Take one record into account."""
        if isinstance(record, AssistantRecord):
            self._add_assistant(record)
        elif isinstance(record, UserRecord):
            self._add_common(record)
            if record.prompt is not None and not record.is_sidechain:
                self.prompts += 1
                self.last_prompt = record.prompt
                if self.first_prompt is None:
                    self.first_prompt = record.prompt
        elif isinstance(record, TitleRecord):
            if record.kind == "summary":
                self.summary = record.title
            elif record.kind == "custom-title":
                self.custom_title = record.title
            else:
                self.ai_title = record.title
        elif isinstance(record, SettingRecord):
            self._add_setting(record)
        elif isinstance(record, SkippedLine):
            if record.reason == "garbage":
                self.garbage_lines += 1
            else:
                self.unknown_lines += 1

    def _add_setting(self, record: SettingRecord) -> None:
        if record.kind == "last-prompt":
            # Written after each turn: the last prompt even when the user lines that
            # held it were rewritten or are not read (a follower resumed mid-file).
            self.last_prompt = record.value
        elif record.kind == "mode":
            self.mode = record.value
        elif record.kind == "permission-mode":
            self.permission_mode = record.value
        elif record.kind == "agent-name":
            self.agent_name = record.value

    def add_all(self, records: Iterable[Record]) -> None:
        """Take several records into account, in order."""
        for record in records:
            self.add(record)

    def _add_common(self, record: UserRecord | AssistantRecord) -> None:
        stamp = record.timestamp_ms
        if stamp is not None:
            if self.started_at_ms is None or stamp < self.started_at_ms:
                self.started_at_ms = stamp
            if self.last_activity_ms is None or stamp > self.last_activity_ms:
                self.last_activity_ms = stamp
        if record.session_id and self.session_id is None:
            self.session_id = record.session_id
        if record.is_sidechain:
            return  # a subagent's cwd or branch is not the session's
        if record.cwd:
            self.cwd = record.cwd
        if record.git_branch:
            self.git_branch = record.git_branch
        if record.version:
            self.version = record.version

    def _add_assistant(self, record: AssistantRecord) -> None:
        self._add_common(record)
        if record.model and not record.is_sidechain and not record.model.startswith("<"):
            # Claude Code writes "<synthetic>" as the model of messages it makes itself.
            self.model = record.model
        if record.usage is None:
            return
        key = record.message_id or record.uuid
        model = record.model or ""
        if key is None:
            self._count(model, record.usage)
            return
        before = self._message_usage.get(key)
        if before is None:
            self._message_usage[key] = record.usage
            self._message_model[key] = model
            self._count(model, record.usage)
        else:
            after = before.max(record.usage)
            self._message_usage[key] = after
            self._count(self._message_model.get(key, model), after - before)

    def _count(self, model: str, usage: Usage) -> None:
        self.usage += usage
        if usage != _NOTHING or model in self.usage_by_model:
            self.usage_by_model[model] = self.usage_by_model.get(model, _NOTHING) + usage

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON/msgpack-able state, for :meth:`from_dict`."""
        return {
            "v": _STATE_VERSION,
            "session_id": self.session_id,
            "cwd": self.cwd,
            "git_branch": self.git_branch,
            "version": self.version,
            "model": self.model,
            "first_prompt": self.first_prompt,
            "last_prompt": self.last_prompt,
            "prompts": self.prompts,
            "summary": self.summary,
            "custom_title": self.custom_title,
            "ai_title": self.ai_title,
            "mode": self.mode,
            "permission_mode": self.permission_mode,
            "agent_name": self.agent_name,
            "started_at_ms": self.started_at_ms,
            "last_activity_ms": self.last_activity_ms,
            "usage": _usage_list(self.usage),
            "garbage_lines": self.garbage_lines,
            "unknown_lines": self.unknown_lines,
            "messages": {k: _usage_list(u) for k, u in self._message_usage.items()},
            "models": {k: _usage_list(u) for k, u in self.usage_by_model.items()},
            "message_models": dict(self._message_model),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TranscriptSummary:
        """Rebuild a summary saved by :meth:`to_dict`.

        Raises ``ValueError`` for state of another format version or shape, so
        the caller starts over from the beginning of the file instead.
        """
        if state.get("v") != _STATE_VERSION:
            raise ValueError(f"unknown transcript summary state version: {state.get('v')!r}")
        try:
            return cls._from_state(state)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed transcript summary state: {exc!r}") from exc

    @classmethod
    def _from_state(cls, state: dict[str, Any]) -> TranscriptSummary:
        return cls(
            session_id=state["session_id"],
            cwd=state["cwd"],
            git_branch=state["git_branch"],
            version=state["version"],
            model=state["model"],
            first_prompt=state["first_prompt"],
            last_prompt=state["last_prompt"],
            prompts=state["prompts"],
            summary=state["summary"],
            custom_title=state["custom_title"],
            ai_title=state["ai_title"],
            # Saved before these were read: absent, and learnt again as they recur.
            mode=state.get("mode"),
            permission_mode=state.get("permission_mode"),
            agent_name=state.get("agent_name"),
            started_at_ms=state["started_at_ms"],
            last_activity_ms=state["last_activity_ms"],
            usage=Usage(*state["usage"]),
            garbage_lines=state["garbage_lines"],
            unknown_lines=state["unknown_lines"],
            usage_by_model={k: Usage(*u) for k, u in state["models"].items()},
            _message_usage={k: Usage(*u) for k, u in state["messages"].items()},
            _message_model=dict(state["message_models"]),
        )


def _usage_list(usage: Usage) -> list[int]:
    return [
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_input_tokens,
        usage.cache_creation_input_tokens,
        usage.cache_creation_1h_tokens,
    ]


_NOTHING = Usage()
