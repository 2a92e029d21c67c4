"""``clare sync ...`` and ``clare keys show``: peers, link status, a round on demand.

Peers live in ``clare.toml``; the gossip node picks up a change within a
second by itself, and is also told at once over its control socket when it
runs. Status and ``now`` ask the running gossip node; without it, status
shows the configured peers and says the node is not running.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.bus.endpoints import GOSSIP_CONTROL
from clare.cli.output import emit_json, short_time, table
from clare.core.errors import NotFound, ServiceUnavailable, UsageError
from clare.runtime import config as config_mod
from clare.runtime import keys as keys_mod
from clare.sync.peers import check_endpoint, check_name

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]

sync_app = typer.Typer(help="Peer-to-peer sync with other hosts.", no_args_is_help=True)
peer_app = typer.Typer(help="The hosts this one syncs with.", no_args_is_help=True)
keys_app = typer.Typer(help="This host's CURVE key pair.", no_args_is_help=True)
sync_app.add_typer(peer_app, name="peer")

NOW_TIMEOUT_S = 8.0


def register(app: typer.Typer) -> None:
    from clare.cli.cmd_fleet import register_fleet

    register_fleet(sync_app)
    app.add_typer(sync_app, name="sync")
    app.add_typer(keys_app, name="keys")


def _gossip(inst: Instance, op: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    with inst.node_client("gossip", GOSSIP_CONTROL, timeout_s=timeout_s) as client:
        try:
            return client.call(op, args)
        except ServiceUnavailable:
            raise ServiceUnavailable(
                "the gossip node is not running here: start Clare with `clare up`"
            ) from None


def _tell_gossip(inst: Instance) -> bool:
    """Ask a running gossip node to re-read its peers now (it would within a second)."""
    try:
        _gossip(inst, "reload", {}, 1.0)
    except ServiceUnavailable:
        return False
    return True


@keys_app.command("show")
def keys_show(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Print this host's public key: what peers give to `clare sync peer add --key`."""
    inst: Instance = ctx.obj
    config = inst.config
    pair, _ = keys_mod.ensure_keypair(inst.paths)
    if json_out:
        emit_json({"public_key": pair.public, "name": config.name, "port": config.gossip_port})
    else:
        print(pair.public)


@peer_app.command("add")
def peer_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A name for the peer (its host name, say).")],
    endpoint: Annotated[str, typer.Argument(help="tcp://HOST:PORT of its gossip node.")],
    key: Annotated[str, typer.Option("--key", help="Its public key (`clare keys show` there).")],
    json_out: JsonOpt = False,
) -> None:
    """Sync with another host. Takes effect without a restart."""
    inst: Instance = ctx.obj
    config = inst.config
    peer = config_mod.Peer(check_name(name), check_endpoint(endpoint), keys_mod.check_key(key))
    own, _ = keys_mod.ensure_keypair(inst.paths)
    if peer.key == own.public:
        raise UsageError("that is this host's own key: give the peer's (`clare keys show` there)")
    for other in config.peers:
        if other.name == peer.name:
            raise UsageError(f"peer {name!r} exists: `clare sync peer remove {name}` first")
        if other.key == peer.key:
            raise UsageError(f"peer {other.name!r} has that key already")
    config_mod.write_peers(inst.paths, (*config.peers, peer))
    told = _tell_gossip(inst)
    if json_out:
        emit_json({"added": peer.name, "endpoint": peer.endpoint, "applied": told})
    else:
        print(f"peer {peer.name} added ({peer.endpoint})")


@peer_app.command("update")
def peer_update(
    ctx: typer.Context,
    name: str,
    endpoint: Annotated[
        str | None, typer.Option("--endpoint", help="Its new tcp://HOST:PORT.")
    ] = None,
    key: Annotated[str | None, typer.Option("--key", help="Its new public key.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a peer's endpoint or key. Takes effect without a restart."""
    inst: Instance = ctx.obj
    config = inst.config
    found = next((p for p in config.peers if p.name == name), None)
    if found is None:
        raise NotFound(f"no peer {name!r}: see `clare sync peer list`")
    if endpoint is None and key is None:
        raise UsageError("nothing to change: give --endpoint or --key")
    peer = config_mod.Peer(
        name,
        found.endpoint if endpoint is None else check_endpoint(endpoint),
        found.key if key is None else keys_mod.check_key(key),
    )
    if key is not None:
        own, _ = keys_mod.ensure_keypair(inst.paths)
        if peer.key == own.public:
            raise UsageError("that is this host's own key: give the peer's")
        if any(p.key == peer.key for p in config.peers if p.name != name):
            raise UsageError("another peer has that key already")
    if peer == found:
        raise UsageError(f"nothing to change: peer {name} is already so")
    config_mod.write_peers(inst.paths, tuple(peer if p.name == name else p for p in config.peers))
    told = _tell_gossip(inst)
    if json_out:
        emit_json({"updated": name, "endpoint": peer.endpoint, "applied": told})
    else:
        print(f"peer {name} updated ({peer.endpoint})")


@peer_app.command("remove")
def peer_remove(ctx: typer.Context, name: str, json_out: JsonOpt = False) -> None:
    """Stop syncing with a host and refuse its key from now on."""
    inst: Instance = ctx.obj
    config = inst.config
    kept = tuple(p for p in config.peers if p.name != name)
    if len(kept) == len(config.peers):
        raise NotFound(f"no peer {name!r}: see `clare sync peer list`")
    config_mod.write_peers(inst.paths, kept)
    told = _tell_gossip(inst)
    if json_out:
        emit_json({"removed": name, "applied": told})
    else:
        print(f"peer {name} removed")


@peer_app.command("list")
def peer_list(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """The configured peers."""
    inst: Instance = ctx.obj
    peers = [{"name": p.name, "endpoint": p.endpoint, "key": p.key} for p in inst.config.peers]
    if json_out:
        emit_json(peers)
        return
    if not peers:
        print("no peers: add one with `clare sync peer add NAME tcp://HOST:PORT --key KEY`")
        return
    table([[p["name"], p["endpoint"], p["key"]] for p in peers], ["name", "endpoint", "key"])


@sync_app.command("status")
def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Each peer: connected or not, last contact, what each side lacks, refusals, errors."""
    inst: Instance = ctx.obj
    config = inst.config
    try:
        data = _gossip(inst, "status", {}, 2.0)
        data["running"] = True
    except ServiceUnavailable:
        from clare.nodes.gossip_transport import bind_endpoint

        data = {
            "running": False,
            "origin": config.machine_id,
            "name": config.name,
            "port": config.gossip_port,
            "bind": bind_endpoint(config.gossip_bind, config.gossip_port),
            "peers": [
                {
                    "name": p.name,
                    "endpoint": p.endpoint,
                    "key": p.key,
                    "connected": False,
                    "last_contact": None,
                }
                for p in config.peers
            ],
            "refused": [],
            "notices": [],
        }
    if json_out:
        emit_json(data)
        return
    _print_status(data)


def _print_status(data: dict[str, Any]) -> None:
    state = "running" if data["running"] else "NOT running (start it with `clare up`)"
    where = f" at {data['bind']}" if data.get("bind") else ""
    print(f"host {data['name']} ({data['origin']}), gossip port {data['port']}{where}: {state}")
    if data["running"]:
        print(f"events held (contiguous): {data['events_held']}")
    rows = [
        [
            p["name"],
            p.get("endpoint"),
            "up" if p["connected"] else "down",
            short_time(p.get("last_contact")),
            p.get("we_lack", "-"),
            p.get("they_lack", "-"),
            p.get("events_received", "-"),
            p.get("events_sent", "-"),
            p.get("clock_ahead", "-"),
            p.get("last_error") or "-",
        ]
        for p in data["peers"]
    ]
    table(
        rows,
        [
            "peer",
            "endpoint",
            "link",
            "last contact",
            "we lack",
            "they lack",
            "got",
            "sent",
            "clock ahead",
            "last error",
        ],
    )
    if not data["peers"]:
        print("no peers configured")
    conflicts = data.get("slot_conflicts") or {}
    if conflicts.get("count"):
        print(
            f"SLOT CONFLICTS: {conflicts['count']} event(s) refused because a different event "
            "holds their (origin, origin_seq); those events are lost to this host. "
            "See docs/sync-protocol.md, 'Two events for one slot'"
        )
        for c in conflicts["recent"][:5]:
            print(
                f"  origin {c['origin']} seq {c['origin_seq']}: refused {c['event_id']} "
                f"from {c['peer'] or '?'}, slot held by {c['held_id'] or 'nothing (our own)'}"
            )
    for r in data["refused"]:
        print(
            f"refused: {r['address']} key {r['key']} ({r['count']} times, last {r['last_at']})",
            file=sys.stderr,
        )
    for n in data["notices"][-5:]:
        print(f"notice {n['at']} {n['peer']}: {n['code']}: {n['detail']}", file=sys.stderr)


@sync_app.command("now")
def now(
    ctx: typer.Context,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for peers to settle.")] = (
        NOW_TIMEOUT_S
    ),
    json_out: JsonOpt = False,
) -> None:
    """One round with every peer now; reports what moved, and exits 1 if it did not settle."""
    inst: Instance = ctx.obj
    inst.config  # noqa: B018 - a missing instance is reported before "not running"
    result = judged(_gossip(inst, "now", {"timeout_s": timeout}, timeout + 5.0))
    if json_out:
        emit_json(result)
    else:
        rows = [
            [
                m["name"],
                "up" if m["connected"] else "down",
                m["received"],
                m["sent"],
                m["we_lack"],
                m["they_lack"],
            ]
            for m in result["peers"]
        ]
        table(rows, ["peer", "link", "received", "sent", "we lack", "they lack"])
        if not rows:
            print("no peers configured")
        lost = result.get("slot_conflicts") or 0
        if result["down"]:
            print(f"NOT settled: no link to {', '.join(result['down'])}", file=sys.stderr)
        elif not result["settled"]:
            print("NOT settled: see `clare sync status`", file=sys.stderr)
        elif lost:
            print(f"settled, but {lost} slot conflict(s) hide events: see `clare sync status`")
        else:
            print("in sync")
    if not result["settled"]:
        raise typer.Exit(1)


def judged(result: dict[str, Any]) -> dict[str, Any]:
    """The gossip node's round, settled only if every configured peer was reached.

    The node judges a round by the peers it is linked to, so with its only
    peer down it reports "settled": nothing was exchanged, and nothing is known
    to be in sync. ``down`` names the peers that were not reached.
    """
    down = [str(m["name"]) for m in result["peers"] if not m["connected"]]
    return {**result, "settled": bool(result["settled"]) and not down, "down": down}
