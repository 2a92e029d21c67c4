"""A session finishing its task, and a person reviewing what it produced.

``task.finish`` is what ``clare done`` asks: the task goes to ``review`` when
its project asks for review, else to ``done``, and the git record of the work
(:mod:`clare.domain.work`, read by the session's host in the session's folder)
is recorded with it as ``TaskWorkRecorded``, in one decision, so a task never
shows finished without what it produced.

``task.review`` is the person's answer: ``approve`` moves a task in review to
done; ``request_changes`` moves it back to in progress and sends the text to
the session that did the work as an ordinary message (``MessageSent`` to
``session:ID``), so it reaches that session once, through the same delivery
as every message: at its next turn, or at once through its inbox.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from clare.core import ids
from clare.core.errors import InvalidTransition, UsageError
from clare.domain.command import check_number, check_text
from clare.domain.commands import TaskFinish, TaskReview
from clare.domain.decide import Context, Decision, StateReader, decider, need_project, need_task
from clare.domain.events import DomainEvent, TaskNoted, TaskStateChanged, register
from clare.domain.lifecycle_events import _Bounded
from clare.domain.messages import MessageSent
from clare.domain.session_ops import usage_now
from clare.domain.targets import DEFAULT_TTL_MS
from clare.domain.tasks import check_transition
from clare.domain.work import MAX_COMMITS, MAX_FILES, MAX_PATH, MAX_UNCOMMITTED

_MAX_LINE = MAX_PATH + 64


@dataclass(frozen=True)
class TaskWorkRecorded(_Bounded):
    """What a session's work on a task produced, read from git in its folder when it finished.

    ``commits`` are ``<hash> <subject>`` lines, newest first; ``files`` are
    ``git diff --numstat`` lines; both are bounded, with their totals beside.
    ``problem`` says what could not be read (not a repository, git missing).
    """

    kind: ClassVar[str] = "TaskWorkRecorded"
    task: str
    session: str = ""
    host: str = ""  # machine_id of the host whose git was read
    cwd: str = ""
    branch: str = ""
    base: str = ""
    base_commit: str = ""
    head: str = ""
    commits: tuple[str, ...] = ()
    commits_total: int = 0
    files: tuple[str, ...] = ()
    files_total: int = 0
    uncommitted: tuple[str, ...] = ()
    pr_url: str = ""
    problem: str = ""

    entity_field: ClassVar[str] = "task"
    max_lengths: ClassVar[dict[str, int]] = {
        "task": 64, "session": ids.MAX_SESSION_ID, "host": 64, "cwd": 4096, "branch": 256,
        "base": 256, "base_commit": 64, "head": 64, "pr_url": 1000, "problem": 1000,
    }  # fmt: skip

    def __post_init__(self) -> None:
        super().__post_init__()
        from clare.core.errors import ProtocolError

        for name, limit in (
            ("commits", MAX_COMMITS), ("files", MAX_FILES), ("uncommitted", MAX_UNCOMMITTED),
        ):  # fmt: skip
            lines = getattr(self, name)
            if len(lines) > limit or any(len(line) > _MAX_LINE for line in lines):
                raise ProtocolError(f"{self.kind}.{name} is over its bounds")


register(TaskWorkRecorded)


def _lines(value: object, name: str, limit: int) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise UsageError(f"work.{name} must be a list of text")
    if len(value) > limit:
        raise UsageError(f"work.{name} has {len(value)} entries, over the limit of {limit}")
    if any(len(v) > _MAX_LINE for v in value):
        raise UsageError(f"work.{name} has an entry over {_MAX_LINE} characters")
    return tuple(value)


def work_event(task: str, session: str, machine_id: str, work: object) -> TaskWorkRecorded:
    """The ``TaskWorkRecorded`` of a ``work`` argument (the map ``WorkRecord.to_args`` makes)."""
    if not isinstance(work, dict):
        raise UsageError("work must be a map of the work record's fields")

    def text(name: str, limit: int) -> str:
        return check_text(f"work.{name}", work.get(name, ""), limit)

    def number(name: str) -> int:
        return check_number(f"work.{name}", work.get(name, 0), 2**31)

    return TaskWorkRecorded(
        task=task,
        session=session,
        host=machine_id,
        cwd=text("cwd", 4096),
        branch=text("branch", 256),
        base=text("base", 256),
        base_commit=text("base_commit", 64),
        head=text("head", 64),
        commits=_lines(work.get("commits"), "commits", MAX_COMMITS),
        commits_total=number("commits_total"),
        files=_lines(work.get("files"), "files", MAX_FILES),
        files_total=number("files_total"),
        uncommitted=_lines(work.get("uncommitted"), "uncommitted", MAX_UNCOMMITTED),
        pr_url=text("pr_url", 1000),
        problem=text("problem", 1000),
    )


@decider(TaskFinish)
def _task_finish(cmd: TaskFinish, state: StateReader, ctx: Context) -> Decision:
    """A session finished its task: to review if its project asks for review, else done."""
    task = need_task(state, cmd.task)
    session = cmd.session
    project = need_project(state, task.project)
    target = "review" if project.review else "done"
    author = cmd.author or f"session:{session}"
    note = cmd.note
    events: list[DomainEvent] = [*usage_now(state, session, cmd.usage, ctx)]
    previous = task.state
    if previous == "todo" and target == "review":
        # Work handed in on a task never started: it was in progress all the same.
        events.append(
            TaskStateChanged(task=task.id, state="in_progress", previous="todo", author=author)
        )
        previous = "in_progress"
    check_transition(task.id, previous, target)
    events.append(
        TaskStateChanged(task=task.id, state=target, previous=previous, note=note, author=author)
    )
    if note:
        events.append(TaskNoted(task=task.id, text=note, author=author))
    if cmd.work is not None:
        events.append(work_event(task.id, session, ctx.machine_id, cmd.work))
    return Decision(events, {"task": task.id, "state": target})


def worker_of(assignee_kind: str, assignee: str) -> str:
    """The session that did a task's work: its assignee, when that is a session."""
    return assignee if assignee_kind == "session" else ""


@decider(TaskReview)
def _task_review(cmd: TaskReview, state: StateReader, ctx: Context) -> Decision:
    """Approve a task in review (to done), or send it back with what to change."""
    task = need_task(state, cmd.task)
    verdict = cmd.verdict
    if verdict not in ("approve", "request_changes"):
        raise UsageError(f"a review is approve or request_changes, not {verdict!r}")
    if task.state != "review":
        raise InvalidTransition(
            f"task {task.id} is {task.state}, not in review: only a task in review can be "
            "approved or sent back"
        )
    author = cmd.author
    text = cmd.text.strip()
    if verdict == "approve":
        events: list[DomainEvent] = [
            TaskStateChanged(task=task.id, state="done", previous="review", note=text,
                             author=author)
        ]  # fmt: skip
        if text:
            events.append(TaskNoted(task=task.id, text=text, author=author))
        return Decision(events, {"task": task.id, "state": "done"})
    if not text:
        raise UsageError("say what to change: --request-changes needs some text")
    check_transition(task.id, task.state, "in_progress")
    note = f"changes requested: {text}"
    events = [
        TaskStateChanged(task=task.id, state="in_progress", previous="review", note=note,
                         author=author),
        TaskNoted(task=task.id, text=note, author=author),
    ]  # fmt: skip
    result: dict[str, Any] = {"task": task.id, "state": "in_progress", "message": None}
    worker = worker_of(task.assignee_kind, task.assignee)
    if worker:
        sent_at = cmd.sent_at
        if not sent_at:
            raise UsageError("sent_at is required: the changes are sent to the session")
        message_id = ids.new_message_id()
        events.append(
            MessageSent(
                message=message_id,
                target=f"session:{worker}",
                text=f"Changes requested on {task.id} ({task.title}): {text}",
                author=author,
                sent_at=sent_at,
                expires_at=sent_at + DEFAULT_TTL_MS,
            )
        )
        result.update(message=message_id, session=worker)
    return Decision(events, result)
