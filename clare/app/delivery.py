"""Delivering a message at once to this host's sessions, instead of at their next turn.

``clare broadcast --now``, and any message to one session, try each live
session of this host the message is for, in this order:

1. its inbox socket (Claude Code 2.1.224+ names one in its session file): the
   message goes into the session's prompt queue, idle or busy;
2. typing into its tmux pane, when it is idle there;
3. nothing: the session's next hook delivers it, as for every other message.

A delivery counts once the session's transcript shows the message, and is then
recorded as ``MessageDelivered`` (``via`` ``inbox`` or ``tmux``). Both ways start
a turn whose UserPromptSubmit hook sees the message's id in its prompt and does
not add the message again (``clare.cli.hook``), so it reaches the model once
even before the delivery is recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.app.agent import claude_folder
from clare.core.errors import ClareError
from clare.domain.commands import MessageDeliver
from clare.store import queries_recipients, queries_sessions

if TYPE_CHECKING:
    from pathlib import Path

    from clare.app.instance import Instance
    from clare.sessions.session_file import ProcessProbe
    from clare.sessions.tmux import PaneTyper

#: Session statuses whose inbox takes a message into the prompt queue.
INBOX_STATUSES = ("idle", "busy")
UNCONFIRMED = "not seen in the transcript in time; the hook delivers it"


def _transcript(folder: Path, session: dict[str, Any]) -> Path:
    from clare.sessions.claude_home import transcript_path

    found = sorted(folder.glob(f"projects/*/{session['id']}.jsonl"))
    if found:
        return found[0]
    # A session that never took a turn may have no transcript yet: watch where it will be.
    return transcript_path(folder, session.get("cwd") or "", session["id"])


def deliver_now(inst: Instance, message_id: str, now_ms: int) -> list[dict[str, Any]]:
    """Deliver the message to this host's sessions it is for; one entry a session tried."""
    views = inst.views()
    config = inst.config
    row = queries_recipients.message(views, message_id)
    if row is None:
        return []
    from clare.app.recipients import format_messages, pending, pending_messages, recipient_for

    message = pending(row)
    text = format_messages([message])
    folder = claude_folder(inst)
    out = []
    for s in queries_sessions.list_sessions(views, host=config.machine_id):
        if s["status"] not in INBOX_STATUSES:
            continue
        who = recipient_for(views, s["id"], machine_id=config.machine_id, host_name=config.name)
        if message.id not in {m.id for m in pending_messages(views, who, now_ms)}:
            continue
        entry = deliver_one(folder, s, text, message.id)
        if entry["via"] is None:
            continue  # no inbox, no idle tmux pane: the hook delivers it
        if entry["confirmed"]:
            inst.submit(
                MessageDeliver(session=s["id"], messages=(message.id,), via=entry["via"], at=now_ms)
            )
        out.append(entry)
    return out


def deliver_one(
    folder: Path,
    session: dict[str, Any],
    text: str,
    needle: str,
    *,
    typer: PaneTyper | None = None,
    probe: ProcessProbe | None = None,
    confirm_timeout_s: float = 5.0,
) -> dict[str, Any]:
    """Try the session's inbox, then its tmux pane; ``via`` None when neither could be tried."""
    from clare.sessions.inbox import deliver_to_inbox, find_inbox

    entry: dict[str, Any] = {"session": session["id"], "via": None, "confirmed": False}
    entry["error"] = None
    transcript = _transcript(folder, session)
    inbox = find_inbox(folder, session["id"], probe)
    if inbox is not None:
        entry["via"] = "inbox"
        try:
            entry["confirmed"] = deliver_to_inbox(
                inbox, transcript, text, needle, timeout_s=confirm_timeout_s
            )
        except ClareError as exc:
            entry["error"] = str(exc)  # the socket did not answer: try tmux
        else:
            if not entry["confirmed"]:
                # It was read, so it may yet arrive: typing it too could repeat it.
                entry["error"] = UNCONFIRMED
            return entry
    if session["status"] != "idle" or not session["tmux_pane"]:
        return entry
    from clare.sessions.tmux import TmuxTyper, deliver_to_pane

    entry["via"], entry["error"] = "tmux", None  # the inbox's failure, if any, is past
    try:
        if not transcript.exists():
            raise ClareError("no transcript to confirm the delivery in")
        entry["confirmed"] = deliver_to_pane(
            typer or TmuxTyper(), session["tmux_pane"], transcript, text, needle,
            timeout_s=confirm_timeout_s,
        )  # fmt: skip
        if not entry["confirmed"]:
            entry["error"] = UNCONFIRMED
    except ClareError as exc:
        entry["error"] = str(exc)
    return entry
