"""``clare log`` (the event history) and ``clare tap`` (live bus traffic)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from clare.bus.tap import Tap
from clare.cli.instance import Instance
from clare.cli.output import emit_json, short_time, table
from clare.store import eventlog, queries

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
    json_out: JsonOpt = False,
) -> None:
    """The event history of this host, newest first."""
    inst: Instance = ctx.obj
    events_conn = inst.events()
    names = queries.host_names(inst.views(fresh=False)) if inst.paths.views_db.exists() else {}
    candidates = eventlog.recent(events_conn, limit, kind_glob=kind)
    rows = [queries.event_dict(e, names) for e in candidates]
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
                _summary(r["data"]),
            ]
            for r in rows
        ],
        ["seq", "at", "host", "kind", "what"],
    )


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
