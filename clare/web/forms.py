"""What the page and the JSON API may ask the writer to do: actions and their commands. Pure.

The same commands as the CLI (``clare.domain.commands``), so a change made on
the page is exactly a change made from a terminal. Forms send text fields;
the JSON API sends typed values; both are shaped here into a command's wire
arguments, which ``Command.from_wire`` checks before anything is sent (and
the writer checks again).
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from clare.core.errors import UsageError
from clare.domain import commands

if TYPE_CHECKING:
    from collections.abc import Mapping

    from clare.domain.command import Command

#: Action name (in ``/actions/NAME`` and the API) -> the command it sends.
ACTIONS: dict[str, type[Command]] = {
    "project.add": commands.ProjectAdd,
    "task.add": commands.TaskAdd,
    "task.update": commands.TaskUpdate,
    "task.state": commands.TaskState,
    "task.assign": commands.TaskAssign,
    "task.unassign": commands.TaskUnassign,
    "task.note": commands.TaskNote,
    "task.review": commands.TaskReview,
    "task.delete": commands.TaskDelete,
    "project.rename": commands.ProjectRename,
    "project.delete": commands.ProjectDelete,
    "broadcast": commands.MessageSend,
    "decision.allow": commands.DecisionMake,
    "decision.deny": commands.DecisionMake,
    "dispatch": commands.DispatchRequest,
    "session.stop": commands.DispatchRequest,
}
#: Arguments that name a task, resolved from a prefix by the handler.
TASK_FIELDS = ("task",)


def new_request_id() -> str:
    """A dispatch request's id, made here as the CLI makes its own: each form sent is
    one request, and the writer records a repeat of one id once."""
    return "d-" + uuid.uuid4().hex


def _split(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", text.strip()) if part]


def _int(fields: Mapping[str, str], name: str) -> int | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"{name} must be a whole number, not {text!r}") from None


def _text(fields: Mapping[str, str], name: str) -> str:
    return fields.get(name, "").strip()


def form_args(action: str, fields: Mapping[str, str], author: str, now_ms: int) -> dict[str, Any]:
    """A submitted form's fields as the writer's arguments for ``action``."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}")
    args: dict[str, Any] = {"author": author}
    if action == "project.add":
        args.update(name=_text(fields, "name"), description=_text(fields, "description"))
        if _text(fields, "path"):
            args["path"] = _text(fields, "path")
        args.pop("author")
    elif action == "task.add":
        args.update(
            project=_text(fields, "project"),
            title=_text(fields, "title"),
            body=fields.get("body", "").strip(),
            priority=_int(fields, "priority") or 0,
            tags=_split(fields.get("tags", "")),
            depends_on=_split(fields.get("depends_on", "")),
        )
    elif action == "task.update":
        args.update(
            task=_text(fields, "task"),
            title=_text(fields, "title") or None,
            body=fields["body"].strip() if "body" in fields else None,
            priority=_int(fields, "priority"),
        )
        if "tags" in fields:
            args["tags"] = _split(fields["tags"])
        if "depends_on" in fields:
            args["depends_on"] = _split(fields["depends_on"])
    elif action == "task.state":
        args.update(
            task=_text(fields, "task"),
            state=_text(fields, "state"),
            note=fields.get("note", "").strip(),
            force=fields.get("force", "") in ("1", "on", "true", "yes"),
        )
    elif action == "task.assign":
        kind, name = _text(fields, "assignee_kind"), _text(fields, "assignee")
        if not kind and ":" in name:
            kind, _, name = name.partition(":")
        args.update(task=_text(fields, "task"), assignee_kind=kind or "session", assignee=name)
    elif action in ("task.unassign",):
        args["task"] = _text(fields, "task")
    elif action == "task.delete":
        args.update(task=_text(fields, "task"), reason=fields.get("reason", "").strip())
    elif action == "project.rename":
        args.update(name=_text(fields, "name"), new_name=_text(fields, "new_name"))
    elif action == "project.delete":
        args["name"] = _text(fields, "name")
    elif action == "task.review":
        args.update(
            task=_text(fields, "task"),
            verdict=_text(fields, "verdict"),
            text=fields.get("text", "").strip(),
            sent_at=now_ms,
        )
    elif action == "task.note":
        args.update(task=_text(fields, "task"), text=fields.get("text", "").strip())
    elif action in ("decision.allow", "decision.deny"):
        args.update(decision_args(action, now_ms), decision=_text(fields, "decision"))
        args["reason"] = fields.get("reason", "").strip()
    elif action == "dispatch":
        args.update(
            request=new_request_id(),
            action="start",
            task=_text(fields, "task"),
            host=_text(fields, "host"),
            worktree=fields.get("worktree", "") in ("1", "on", "true", "yes"),
        )
    elif action == "session.stop":
        args.update(request=new_request_id(), action="stop", session=_text(fields, "session"))
    elif action == "broadcast":
        args.update(
            text=fields.get("text", "").strip(),
            target=_text(fields, "target") or "all",
            sent_at=now_ms,
        )
    return args


def json_args(action: str, body: object, author: str, now_ms: int) -> dict[str, Any]:
    """A JSON request body as the writer's arguments: typed values pass through."""
    if action not in ACTIONS:
        raise UsageError(f"unknown action {action!r}")
    if not isinstance(body, dict):
        raise UsageError("the request body must be a JSON object")
    args = {k: v for k, v in body.items() if isinstance(k, str)}
    if action == "task.assign" and "assignee_kind" not in args:
        assignee = args.get("assignee")
        if isinstance(assignee, str) and ":" in assignee:
            args["assignee_kind"], _, args["assignee"] = assignee.partition(":")
    if action == "task.review":
        args.setdefault("sent_at", now_ms)
    if action in ("decision.allow", "decision.deny"):
        args.update(decision_args(action, now_ms))
    if action in ("dispatch", "session.stop"):
        args.setdefault("request", new_request_id())
        args["action"] = "start" if action == "dispatch" else "stop"
    if action == "broadcast":
        args.setdefault("target", "all")
        args.setdefault("sent_at", now_ms)
    if action != "project.add":
        args.setdefault("author", author)
    return args


def decision_args(action: str, now_ms: int) -> dict[str, Any]:
    """What an answer from the page always says: which, through the web, and when."""
    return {"behavior": action.rpartition(".")[2], "via": "web", "at": now_ms}
