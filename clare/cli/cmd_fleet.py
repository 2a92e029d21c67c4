"""``clare sync invite / join / remove / members``: a fleet by invitation.

Registered on the ``sync`` group by :mod:`clare.cli.cmd_sync`. The work is
in :mod:`clare.app.fleet`; these are its command lines.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Annotated

import typer

from clare.app import fleet as fleet_app
from clare.bus.endpoints import GOSSIP_CONTROL
from clare.cli.output import emit_json, table
from clare.core.errors import ServiceUnavailable
from clare.sync.invite import parse_token

if TYPE_CHECKING:
    from clare.app.instance import Instance

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
EndpointOpt = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        help="tcp://HOST:PORT other hosts reach this one at (default: [sync] advertise, "
        "else [gossip] bind and port).",
    ),
]
LINK_WAIT_S = 15.0


def invite(
    ctx: typer.Context,
    endpoint: EndpointOpt = None,
    ttl: Annotated[
        str, typer.Option("--ttl", help="How long the invitation works: 90s, 15m, 2h, 7d.")
    ] = "1h",
    json_out: JsonOpt = False,
) -> None:
    """Print a one-time invitation: run `clare sync join TOKEN` with it on the new host."""
    inst: Instance = ctx.obj
    token = fleet_app.invite(inst, endpoint=endpoint, ttl_s=fleet_app.parse_ttl(ttl))
    # Printed only once a guest can use it, or with a line that says why not yet.
    not_ready = fleet_app.door_open(inst, token.invite)
    if not_ready:
        print(f"clare: warning: {not_ready}", file=sys.stderr)
    if json_out:
        emit_json(
            {
                "token": token.to_text(),
                "ready": not not_ready,
                "invite": token.invite,
                "endpoint": token.endpoint,
                "expires_at": time.strftime(
                    "%Y-%m-%dT%H:%M:%SZ", time.gmtime(token.expires_ms / 1000)
                ),
            }
        )
    else:
        print(token.to_text())


def join(
    ctx: typer.Context,
    token: Annotated[str, typer.Argument(help="The line `clare sync invite` printed.")],
    endpoint: EndpointOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Join a fleet with an invitation (this host's stack must be up); pairs both ways."""
    inst: Instance = ctx.obj
    parsed = parse_token(token)
    result = fleet_app.join(inst, parsed, endpoint=endpoint)
    if _loopback(result["as"]) and not _loopback(parsed.endpoint):
        print(
            f"warning: this host gave the fleet {result['as']}, which other machines cannot "
            "reach: set [sync] advertise or [gossip] bind, or join with --endpoint",
            file=sys.stderr,
        )
    result["linked"] = _wait_linked(inst, result["inviter"])
    if json_out:
        emit_json(result)
        return
    print(f"joined the fleet through {result['inviter']} ({result['endpoint']})")
    if not result["linked"]:
        print("the link is not up yet: see `clare sync status`")


def _loopback(endpoint: str) -> bool:
    return "://127." in endpoint or "://[::1]" in endpoint or "://localhost:" in endpoint


def _wait_linked(inst: Instance, name: str) -> bool:
    """Whether the gossip node's link to ``name`` comes up within a few seconds."""
    deadline = time.monotonic() + LINK_WAIT_S
    while time.monotonic() < deadline:
        try:
            with inst.node_client("gossip", GOSSIP_CONTROL, timeout_s=2.0) as client:
                status = client.call("status", {})
        except ServiceUnavailable:
            return False
        if any(p["name"] == name and p["connected"] for p in status["peers"]):
            return True
        time.sleep(0.2)
    return False


def remove(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="The member's name, origin or public key.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, kept in the log.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Put a member out of the fleet for good: every member drops and refuses its key."""
    inst: Instance = ctx.obj
    result = fleet_app.remove(inst, host, reason)
    if json_out:
        emit_json({"removed": result["removed"], "key": result["key"]})
    else:
        print(f"{result['removed']} removed from the fleet")


def members(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The fleet's members (as this host knows them) and the removed hosts."""
    inst: Instance = ctx.obj
    fleet = fleet_app.fleet(inst)
    rows = [
        {
            "name": m.name,
            "origin": m.origin,
            "key": m.key,
            "endpoint": m.endpoint,
            "introduced_by": m.introduced_by,
        }
        for m in fleet.members()
    ]
    removed = [
        {"name": r.name, "origin": r.origin, "key": r.key, "by": r.by}
        for r in fleet.removed.values()
    ]
    if json_out:
        emit_json({"members": rows, "removed": removed})
        return
    if not rows:
        print("no fleet yet: `clare sync invite` makes one")
        return
    table([[r["name"], r["endpoint"], r["key"]] for r in rows], ["name", "endpoint", "key"])
    for r in removed:
        print(f"removed: {r['name']} ({r['key']})")


def register_fleet(app: typer.Typer) -> None:
    if any(c.name == "invite" for c in app.registered_commands):
        return  # the group is module-level: a second app build reuses it
    app.command("invite")(invite)
    app.command("join")(join)
    app.command("remove")(remove)
    app.command("members")(members)
