"""``clare log`` (the event history) and ``clare tap`` (live bus traffic)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clare.app.instance import Instance
from clare.bus.tap import Tap
from clare.cli.output import emit_json, short_time, table
from clare.store import eventlog, queries_events, queries_hosts

if TYPE_CHECKING:
    import sqlite3

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print JSON (log: one document; tap: lines).")
]


def register(app: typer.Typer) -> None:
    app.command("log")(log_)
    app.command("tap")(tap)


def log_(
    ctx: typer.Context,
    kind: Annotated[
        str | None, typer.Option(help="Only kinds matching this glob, e.g. 'Task*'.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="How many, newest first.")] = 50,
    set_aside: Annotated[
        bool,
        typer.Option(
            "--set-aside", help="Only events the views left out: they could not be folded."
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """The event history of this host, newest first.

    An event the views left out (it could not be folded: a malformed body, a number
    out of bounds) is marked "set aside", with the reason.
    """
    inst: Instance = ctx.obj
    events_conn = inst.events()
    names = (
        queries_hosts.host_names(inst.views(fresh=False)) if inst.paths.views_db.exists() else {}
    )
    candidates = eventlog.recent(events_conn, limit, kind_glob=kind)
    rows = [queries_events.event_dict(e, names) for e in candidates]
    rows = _with_set_aside(inst, events_conn, names, rows, only=set_aside, limit=limit, kind=kind)
    if json_out:
        emit_json(rows)
        return
    table(
        [
            [
                r["seq"],
                short_time(r["at"]),
                r["host"] or r["origin"][:8],
                r["kind"],
                f"(set aside: {r['set_aside']})" if r["set_aside"] else _summary(r["data"]),
            ]
            for r in rows
        ],
        ["seq", "at", "host", "kind", "what"],
    )


def _with_set_aside(
    inst: Instance,
    events_conn: sqlite3.Connection,
    names: dict[str, str],
    rows: list[dict[str, Any]],
    *,
    only: bool,
    limit: int,
    kind: str | None,
) -> list[dict[str, Any]]:
    """``rows`` with why each was set aside (None if it was not); with ``only``, the
    newest events set aside instead."""
    from fnmatch import fnmatchcase

    if not inst.paths.views_db.exists():
        return [{**row, "set_aside": None} for row in rows] if not only else []
    views_conn = inst.views(fresh=False)
    if only:
        aside = queries_events.set_aside(views_conn, limit)
        events = [e for seq in aside for e in eventlog.read_after(events_conn, seq - 1, 1)]
        rows = [
            queries_events.event_dict(e, names) for e in events if fnmatchcase(e.kind, kind or "*")
        ]
    elif rows:
        aside = queries_events.set_aside_between(views_conn, rows[-1]["seq"], rows[0]["seq"])
    else:
        aside = {}
    for row in rows:
        found = aside.get(row["seq"])
        row["set_aside"] = found["reason"] if found else None
    return rows


def _summary(data: dict[str, object] | None) -> str:
    if data is None:
        return "(undecodable)"
    keys = ("task", "project", "session", "state", "assignee", "title", "text", "name")
    return " ".join(f"{k}={data[k]}" for k in keys if data.get(k) not in (None, "", []))


def tap(
    ctx: typer.Context,
    kind: Annotated[str, typer.Option(help="Only messages whose kind matches this glob.")] = "*",
    node: Annotated[
        list[str] | None, typer.Option(help="Only this node's PUB (repeatable).")
    ] = None,
    count: Annotated[
        int, typer.Option(min=0, help="Stop after this many messages (0: never).")
    ] = 0,
    timeout: Annotated[
        float,
        typer.Option(min=0, help="Stop after this many seconds without a message (0: never)."),
    ] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Print live bus traffic from every node, decoded, until Ctrl-C (or SIGTERM)."""
    import signal

    inst: Instance = ctx.obj
    inst.config  # noqa: B018
    the_tap = Tap(inst.endpoints, node)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)  # a supervisor's stop still prints the summary
    if not the_tap.present:
        print("no node is publishing here: start Clare with `clare up`", file=sys.stderr)
    seen = 0
    try:
        for message in the_tap.messages(kind, int(timeout * 1000) if timeout else None):
            seen += 1
            if json_out:
                line = {"node": message.node, "kind": message.kind, "data": message.data}
                if message.error:
                    line["error"] = message.error
                print(json.dumps(line, default=repr), flush=True)
            else:
                text = the_tap.summary(message)
                print(f"{message.node:<9} {message.kind:<18} {text}", flush=True)
            if count and seen >= count:
                break
    except KeyboardInterrupt:
        pass
    finally:
        the_tap.close()
        print(f"{seen} messages, {the_tap.undecodable} undecodable", file=sys.stderr)
