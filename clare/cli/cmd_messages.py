"""``clare broadcast`` and ``clare inbox``: messages to agent sessions."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, short_time
from clare.core.errors import UsageError
from clare.domain.commands import MessageSend
from clare.domain.targets import MAX_TTL_MS, parse_target
from clare.store import queries_hosts, queries_messages, queries_sessions

MAX_TTL_HOURS = MAX_TTL_MS / 3_600_000

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer) -> None:
    app.command("broadcast")(broadcast)
    app.command("inbox")(inbox)


def _target(inst: Instance, target: str) -> tuple[str, bool]:
    """The target with a session prefix resolved, and whether it is a host's config group."""
    kind, name = parse_target(target)
    if kind == "session":
        return f"session:{queries_sessions.resolve_session(inst.views(), name)}", False
    if kind == "group":
        configured = {g for h in queries_hosts.list_hosts(inst.views()) for g in h["groups"]}
        return target, name in configured
    return target, False


def broadcast(
    ctx: typer.Context,
    message: Annotated[str, typer.Argument(help="The text to send.")],
    to: Annotated[
        str,
        typer.Option(help="all, project:NAME, group:NAME, host:NAME or session:ID."),
    ] = "all",
    now: Annotated[
        bool,
        typer.Option(
            "--now",
            help="Also deliver it at once: through each session's inbox socket, else by "
            "typing into an idle tmux pane (always done for a message to one session).",
        ),
    ] = False,
    ttl_hours: Annotated[
        float, typer.Option("--ttl-hours", help="Sessions starting later get it until then.")
    ] = 24.0,
    json_out: JsonOpt = False,
) -> None:
    """Send a message to sessions; each gets it once, on its next turn."""
    inst: Instance = ctx.obj
    if not (math.isfinite(ttl_hours) and 0 < ttl_hours <= MAX_TTL_HOURS):
        # Checked here: nan, inf or 1e300 hours would not even become a command.
        raise UsageError(f"--ttl-hours must be more than 0 and at most {MAX_TTL_HOURS:g}, "
                         f"not {ttl_hours:g}")  # fmt: skip
    sent_at = int(time.time() * 1000)
    target, host_group = _target(inst, to)
    result = inst.submit(
        MessageSend(
            target=target,
            host_group=host_group,
            text=message,
            author=inst.author,
            sent_at=sent_at,
            ttl_ms=int(ttl_hours * 3600 * 1000),
        )
    )
    delivered: list[dict[str, Any]] = []
    if now or target.startswith("session:"):
        from clare.app.delivery import deliver_now

        delivered = deliver_now(inst, result["message"], sent_at)
    if json_out:
        emit_json({**result, "delivered_now": delivered})
        return
    print(f"{result['message']} sent to {result['target']}")
    for entry in delivered:
        state = "delivered" if entry["confirmed"] else f"not confirmed ({entry['error']})"
        print(f"  {entry['via']} {entry['session'][:8]}: {state}")


def inbox(
    ctx: typer.Context,
    session: Annotated[
        str | None, typer.Option("--session", help="Only this session's deliveries.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """List messages and who got them (with --session: also what still waits for it)."""
    from clare.app.recipients import pending_messages, recipient_for

    inst: Instance = ctx.obj
    views = inst.views()
    session_id = queries_sessions.resolve_session(views, session) if session else None
    messages = queries_messages.list_messages(views, session=session_id)
    waiting: list[str] = []
    if session_id:
        config = inst.config
        who = recipient_for(views, session_id, machine_id=config.machine_id, host_name=config.name)
        waiting = [m.id for m in pending_messages(views, who, int(time.time() * 1000))]
        for m in messages:
            m["waiting"] = m["id"] in waiting
    if json_out:
        emit_json(messages)
        return
    if not messages:
        print("no messages")
        return
    for m in messages:
        got = ", ".join(f"{d['session'][:8]} ({d['via']})" for d in m["deliveries"]) or "nobody"
        mark = "  [waiting]" if m.get("waiting") else ""
        print(f"{m['id']}  {short_time(m['sent_at'])}  to {m['target']}{mark}")
        print(f"  {m['text']}")
        print(f"  delivered to: {got}")
