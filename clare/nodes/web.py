"""The web node: the status page and its API, served by hypercorn's trio worker.

Wiring only: one task owns each SUB socket (the writer's events, the
projector's view notices) and feeds the ``Hub``; the app sends commands
through an ``AsyncCommandClient``; hypercorn serves the app in this trio loop.
Stopping (cancellation, or SIGTERM through ``clare node web``) closes the hub
first, which ends every open SSE stream, so shutdown does not wait on them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import trio
import zmq
from hypercorn.config import Config as HyperConfig
from hypercorn.trio import serve

from clare.bus import envelope, published
from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import SUB_HWM, Endpoints
from clare.bus.zsock import TrioSocket, open_socket
from clare.errors import ProtocolError
from clare.logs import get
from clare.web.app import create_app
from clare.web.context import WebContext
from clare.web.guard import policy_for
from clare.web.hub import Demand, Hub, ViewNotice, merge_notices
from clare.web.links import GossipLinks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from clare.config import Config
    from clare.paths import InstancePaths

log = get("clare.web")

#: Bounds how long open connections may delay a stop.
GRACEFUL_TIMEOUT_S = 0.5
#: The least time between two batches of view notices (see ``_feed_views``).
VIEW_COALESCE_S = 0.02
#: Messages taken off a socket per wake-up.
MAX_BURST = 1000
EVENT_TOPIC = b"ev."
VIEW_TOPIC = b"view"


async def serve_web(
    paths: InstancePaths,
    config: Config,
    *,
    host: str | None = None,
    port: int | None = None,
    token: str | None = None,
    task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the web page until cancelled; ``task_status`` gets the bound URLs."""
    bind_host = host or config.web_host
    bind_port = config.web_port if port is None else port
    policy = policy_for(bind_host, config.web_token if token is None else token)
    endpoints = Endpoints(paths)
    paths.ensure_runtime_dir()
    hub = Hub()
    commands = AsyncCommandClient(endpoints.writer_commands)
    gossip = GossipLinks(paths)
    ctx = WebContext(paths, config, commands, hub, gossip=gossip)
    app = create_app(ctx, policy)
    hyper = HyperConfig()
    hyper.bind = [f"[{bind_host}]:{bind_port}" if ":" in bind_host else f"{bind_host}:{bind_port}"]
    hyper.graceful_timeout = GRACEFUL_TIMEOUT_S
    hyper.accesslog = None
    # Through the root logger, so hypercorn's lines are JSON lines like every node's.
    hyper.errorlog = logging.getLogger("clare.web.http")
    hyper.keep_alive_timeout = 30
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(_feed_events, endpoints, hub)
            await nursery.start(_feed_views, endpoints, hub)
            binds: list[str] = await nursery.start(_serve_http, app, hyper)
            log.info("web ready", urls=binds, token=bool(policy.token))
            task_status.started(binds)
    finally:
        hub.close()
        commands.close()
        gossip.close()
        ctx.close()


async def _serve_http(
    app: Any, hyper: HyperConfig, *, task_status: trio.TaskStatus[list[str]]
) -> None:
    try:
        await serve(app, hyper, task_status=task_status)
    finally:
        log.info("web stopped")


async def _feed_events(
    endpoints: Endpoints, hub: Hub, *, task_status: trio.TaskStatus[None]
) -> None:
    """The writer's events into the hub, subscribed only while some stream is open.

    Without a browser the events have no reader here, and receiving them cost a
    wake-up per commit beside a busy writer. Each burst is read whole and handed
    over at once (a group commit publishes many). A subscription takes effect a
    moment after it is made; what a new stream misses in that moment it reads
    from the store (``stream.RECHECK_S``), like any gap.
    """

    async def take(burst: list[list[bytes]]) -> None:
        events = []
        for frames in burst:
            try:
                events.extend(published.events_in(frames[-1]))
            except ProtocolError as exc:
                log.warning("undecodable event dropped", error=str(exc))
        hub.publish_events(events)

    async with open_socket(
        zmq.SUB, connect=[endpoints.writer_events], options={zmq.RCVHWM: SUB_HWM}
    ) as sub:
        task_status.started()
        await _while_wanted(sub, EVENT_TOPIC, hub.events_demand, take)


async def _feed_views(
    endpoints: Endpoints, hub: Hub, *, task_status: trio.TaskStatus[None]
) -> None:
    """The projector's notices into the hub, while wanted, one batch per ``VIEW_COALESCE_S``.

    Wanted while a stream is open or an action waits for its write to show
    (``WebContext.settle``, which also reads the views' position itself, so a
    notice missed while the subscription takes effect costs it one poll).
    The views move once per projector batch, hundreds of times a second under
    load, and what waits on them gains nothing from more than a few notices a
    second: after each batch the feed rests, and the notices that arrived
    meanwhile go out merged. A quiet stack's single notice still goes out at once.
    """

    async def take(burst: list[list[bytes]]) -> None:
        notices = []
        for frames in burst:
            try:
                notices.append(view_notice(envelope.decode(frames[-1])))
            except ProtocolError as exc:
                log.warning("undecodable view notice dropped", error=str(exc))
        if notices:
            hub.publish_view(merge_notices(notices))
        await trio.sleep(VIEW_COALESCE_S)

    async with open_socket(
        zmq.SUB, connect=[endpoints.projector_views], options={zmq.RCVHWM: 10_000}
    ) as sub:
        task_status.started()
        await _while_wanted(sub, VIEW_TOPIC, hub.views_demand, take)


async def _while_wanted(
    sub: TrioSocket,
    topic: bytes,
    demand: Demand,
    take: Callable[[list[list[bytes]]], Awaitable[None]],
) -> None:
    """Subscribe ``sub`` to ``topic`` while ``demand`` has takers; each burst goes to ``take``.

    On the last taker's leaving it unsubscribes and drops what was already
    queued: of no use to the next (a stream replays from the store, an action
    reads the views' position itself). Bounded, as the publisher may send on a
    moment longer.
    """
    while True:
        await demand.wait()
        sub.sock.setsockopt(zmq.SUBSCRIBE, topic)
        while demand.count:
            await take(await _receive_burst(sub))
        sub.sock.setsockopt(zmq.UNSUBSCRIBE, topic)
        sub.recv_waiting(SUB_HWM)


async def _receive_burst(sub: TrioSocket) -> list[list[bytes]]:
    """The next message, and whatever else is already queued (up to ``MAX_BURST``)."""
    first = await sub.recv()
    return [first, *sub.recv_waiting(MAX_BURST - 1)]


def view_notice(data: dict[str, Any]) -> ViewNotice:
    """A projector notice (``{"position", "changed"}``) as a ``ViewNotice``; checked."""
    position = envelope.field(data, "position", int)
    changed = data.get("changed", {})
    if not isinstance(changed, dict):
        raise ProtocolError("view notice: changed must be a map")
    return ViewNotice(
        position,
        {
            str(k): [str(i) for i in v][:1000]
            for k, v in changed.items()
            if isinstance(v, list | tuple)
        },
    )
