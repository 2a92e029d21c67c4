"""Instance commands: init, up, node, status, rebuild, verify."""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clare.app import status as app_status
from clare.app.instance import Instance
from clare.bus.endpoints import PROJECTOR_CONTROL
from clare.cli import cmd_sessions
from clare.cli.output import emit_json, short_time, table
from clare.core.errors import StorageError
from clare.nodes import run as run_mod
from clare.runtime import config as config_mod
from clare.runtime import node_names
from clare.runtime.lock import NodeLock, is_held
from clare.store import queries_events, queries_hosts, queries_projects, queries_tasks
from clare.store.space import data_space
from clare.store.sqlite import reading

if TYPE_CHECKING:
    from clare.store.space import Space

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(up)
    app.command(hidden=False)(node)
    app.command()(status)
    app.command()(rebuild)
    app.command()(verify)


def init(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="Name of this host (default: hostname).")] = None,
    web_port: Annotated[
        int | None, typer.Option(help="Port of the web page (default 8765).")
    ] = None,
    gossip_port: Annotated[
        int | None, typer.Option(help="Port peers sync with (default 8766).")
    ] = None,
    gossip_bind: Annotated[
        str | None,
        typer.Option(
            help="Address the sync port listens on: this host's address on the network its "
            "peers use (e.g. its WireGuard address), or '*' for all (default 127.0.0.1)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create this instance's config and data folder; print its machine id.

    Safe to run again: it never changes the machine id, only the settings given.
    """
    inst: Instance = ctx.obj
    before = config_mod.load(inst.paths) if inst.paths.config_file.exists() else None
    config, created = config_mod.init(
        inst.paths, name=name, web_port=web_port, gossip_port=gossip_port, gossip_bind=gossip_bind
    )
    from clare.runtime.keys import ensure_keypair  # the host's sync identity: `clare keys show`

    ensure_keypair(inst.paths)
    changed = {
        field: [getattr(before, field), getattr(config, field)]
        for field in ("name", "web_port", "gossip_port")
        if before is not None and getattr(before, field) != getattr(config, field)
    }
    # Nodes read their config when they start: a change reaches a running one at its restart.
    running = [n for n in node_names.START_ORDER if is_held(inst.paths.lock_file(n))]
    restart_needed = bool(changed and running)
    if json_out:
        emit_json(
            {
                "machine_id": config.machine_id,
                "name": config.name,
                "created": created,
                "config": str(inst.paths.config_file),
                "web_port": config.web_port,
                "gossip_port": config.gossip_port,
                "gossip_bind": config.gossip_bind,
                "changed": changed,
                "restart_needed": restart_needed,
            }
        )
        return
    print(config.machine_id)
    where = f"{inst.paths.config_file} (host {config.name!r})"
    if created:
        print(f"created: {where}", file=sys.stderr)
    elif not changed:
        print(f"exists: {where}; nothing changed", file=sys.stderr)
    else:
        what = ", ".join(f"{field} {old} -> {new}" for field, (old, new) in changed.items())
        print(f"updated: {where}: {what}", file=sys.stderr)
    if restart_needed:
        print(
            "Clare is running: restart it (stop `clare up` and start it again, or "
            "`systemctl --user restart clare.target`) for the change to take effect",
            file=sys.stderr,
        )


def up(
    ctx: typer.Context,
    nodes: Annotated[
        str | None, typer.Option(help="Comma-separated nodes to run (default: all).")
    ] = None,
) -> None:
    """Start every node of this instance as its own process, and keep them running.

    Creates the instance first if there is none. Ctrl-C or SIGTERM stops all nodes.
    """
    import signal

    import trio

    from clare.nodes import supervisor

    inst: Instance = ctx.obj
    if not inst.paths.config_file.exists():
        config, _ = config_mod.init(inst.paths)
        _tell(f"created instance {config.machine_id} at {inst.paths.config_file}")
    names = node_names.START_ORDER if nodes is None else [n.strip() for n in nodes.split(",")]
    unknown = [n for n in names if n not in node_names.NODES]
    if unknown:
        raise typer.BadParameter(f"unknown node(s) {', '.join(unknown)}", param_hint="--nodes")
    inst.paths.ensure_runtime_dir()
    with NodeLock(inst.paths.lock_file("up")) as lock:
        lock.acquire("`clare up`")
        from clare.runtime import logs

        logs.setup("supervisor")

        def ready(name: str) -> bool:
            if name == "writer":
                return inst.writer_seq() is not None
            return is_held(inst.paths.lock_file(name))

        async def main() -> None:
            # Signals are watched before the first node starts: a SIGTERM during
            # start-up must stop the nodes already running, not orphan them.
            with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_cancel_on_signal, signals, nursery.cancel_scope)
                    await nursery.start(
                        functools.partial(supervisor.supervise, ready=ready), inst.paths, names
                    )
                    config = inst.config
                    _tell(
                        f"Clare is up: host {config.name!r}, nodes {', '.join(names)}; "
                        f"home {inst.paths.home_hint}. Ctrl-C stops it."
                    )

        trio.run(main)
        _tell("Clare stopped.")


def _tell(line: str) -> None:
    """A line for whoever watches `clare up`. Its stderr may be a log file on a full
    disk or a closed terminal: the line is then lost, never the running nodes."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


async def _cancel_on_signal(signals: Any, scope: Any) -> None:
    async for _ in signals:
        scope.cancel()
        return


def node(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="writer, projector, poller, gossip or web")],
) -> None:
    """Run one node in the foreground (what `clare up` and the systemd units run)."""
    inst: Instance = ctx.obj
    if name not in node_names.NODES:
        known = ", ".join(node_names.START_ORDER)
        raise typer.BadParameter(f"unknown node {name!r}; known: {known}", param_hint="NAME")
    run_mod.run_node(name, inst.paths)


def _views_summary(inst: Instance, data: dict[str, Any], *, fresh: bool) -> None:
    views = inst.views(fresh=fresh)
    try:
        with reading("the views"):
            data["tasks"] = queries_tasks.task_counts(views)
            data["projects"] = len(queries_projects.list_projects(views))
            data["hosts"] = queries_hosts.list_hosts(views, inst.events())
            data["fleet"] = cmd_sessions.fleet(views)
            data["events"] = sum(
                n for k, n in queries_events.event_counts(views).items() if not k.startswith("~")
            )
            data["set_aside"] = queries_events.set_aside_count(views)
    finally:
        views.close()


def _print_disk(disk: dict[str, Any], space: Space) -> None:
    if disk["storage_error"]:
        print(f"disk: the writer cannot store commands: {disk['storage_error']}")
    if space.full:
        print(
            f"disk: FULL, {space.describe()}: commands are refused and the views wait; "
            "free some space and Clare resumes by itself"
        )
    elif space.low:
        print(f"disk: low, {space.describe()}")


def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """This host, its nodes (pid and health) and what the views hold."""
    inst: Instance = ctx.obj
    config = inst.config
    health = app_status.probed_health(inst.paths)
    data: dict[str, Any] = {**app_status.live_status(inst.paths, config), "nodes": health}
    space = data_space(inst.paths.data_dir)
    data["disk"] = {**space.to_dict(), "storage_error": health["writer"].get("storage_error")}
    if inst.paths.views_db.exists():
        try:
            _views_summary(inst, data, fresh=health["writer"]["answering"] is True)
        except StorageError as exc:
            # The nodes' health is still worth showing when the views cannot be
            # read (being rebuilt, or waiting for disk space).
            data["views_error"] = str(exc)
    if json_out:
        emit_json(data)
        return
    print(f"host {config.name} ({config.machine_id})  home {data['home']}")
    rows = [
        [
            name,
            "up" if h["running"] else f"down ({h['given_up']})" if h["given_up"] else "down",
            h.get("pid"),
            {True: "yes", False: "no", None: "-"}[h["answering"]],
            h.get("restarts", 0),
        ]
        for name, h in health.items()
    ]
    table(rows, ["node", "state", "pid", "answering", "restarts"])
    _print_disk(data["disk"], space)
    if "views_error" in data:
        print(f"views: {data['views_error']}")
    if "tasks" in data:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(data["tasks"].items())) or "none"
        print(f"events {data['events']}; projects {data['projects']}; tasks: {counts}")
        if data["set_aside"]:
            print(
                f"{data['set_aside']} event(s) set aside: the views could not fold them "
                "(`clare log --set-aside` shows which and why)"
            )
        for host in data["hosts"]:
            print(f"  host {host['name']} last seen {short_time(host['last_seen'])}")
        cmd_sessions.print_fleet(data["fleet"])
    if not health["writer"]["running"]:
        print("the writer is not running: start Clare with `clare up`", file=sys.stderr)


def rebuild(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Throw the views away and rebuild them from the events table."""
    from clare.store import maintenance

    inst: Instance = ctx.obj
    inst.config  # noqa: B018
    if is_held(inst.paths.lock_file("projector")):
        with inst.node_client("projector", PROJECTOR_CONTROL, timeout_s=600.0) as client:
            result = client.call("rebuild")
    else:
        with NodeLock(inst.paths.lock_file("projector")) as lock:
            lock.acquire("the projector")
            result = maintenance.rebuild(inst.paths)
    if json_out:
        emit_json(result)
    else:
        print(f"rebuilt views from {result['events']} events (position {result['position']})")


def verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Rebuild the views into a temporary file and compare them with the live ones.

    Exits 1 with a summary of the differences when they differ.
    """
    from clare.store import maintenance

    inst: Instance = ctx.obj
    inst.config  # noqa: B018
    report = maintenance.verify(inst.paths)
    if json_out:
        emit_json(report)
    elif report["ok"]:
        print(f"views match a rebuild at position {report['position']} ({report['rows']} rows)")
    else:
        print(f"views DIFFER from a rebuild at position {report['position']}:")
        for line in report["differences"]:
            print(f"  {line}")
    if not report["ok"]:
        raise typer.Exit(1)
