"""The web node: the status page and its API, served by hypercorn's trio worker.

Wiring only: one task owns each SUB socket (the writer's events, the
projector's view notices) and feeds the ``Hub``; the app sends commands
through an ``AsyncCommandClient``; hypercorn serves the app in this trio loop.
Stopping (cancellation, or SIGTERM through ``clare node web``) closes the hub
first, which ends every open SSE stream, so shutdown does not wait on them.

The listening socket is made here, not by hypercorn, to set ``TCP_USER_TIMEOUT``
on it (accepted connections inherit it): a client that leaves what was sent
unread for ``[web] stall_timeout_s`` is disconnected by the kernel. Hypercorn
shields its socket writes from cancellation, so nothing above the socket could
free a stream blocked on a client that never reads.
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Any

import trio
import zmq
from hypercorn.config import Config as HyperConfig
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

from clare.bus import envelope, published
from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import SUB_HWM, VIEW_TOPIC, Endpoints
from clare.bus.zsock import TrioSocket, open_socket
from clare.core.errors import ProtocolError, ServiceUnavailable
from clare.runtime.logs import get
from clare.web.app import create_app
from clare.web.context import WebContext
from clare.web.guard import policy_for
from clare.web.hub import Demand, Hub, ViewNotice, merge_notices
from clare.web.links import GossipLinks

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

log = get("clare.web")

#: Bounds how long open connections may delay a stop.
GRACEFUL_TIMEOUT_S = 0.5
#: The least time between two batches of view notices (see ``_feed_views``).
VIEW_COALESCE_S = 0.02
#: Messages taken off a socket per wake-up.
MAX_BURST = 1000
EVENT_TOPIC = b"ev."


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
    hub = Hub(buffer_bytes=config.web_stream_buffer_bytes, max_streams=config.web_max_streams)
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
            binds: list[str] = await nursery.start(
                _serve_http, app, hyper, config.web_stall_timeout_s
            )
            log.info("web ready", urls=binds, token=bool(policy.token))
            task_status.started(binds)
    finally:
        hub.close()
        commands.close()
        gossip.close()
        ctx.close()


async def _serve_http(
    app: Any, hyper: HyperConfig, stall_timeout_s: float, *, task_status: trio.TaskStatus[list[str]]
) -> None:
    try:
        sockets = hyper.create_sockets()
    except OSError as exc:
        raise ServiceUnavailable(f"cannot listen on {', '.join(hyper.bind)}: {exc}") from exc
    try:
        for sock in sockets.insecure_sockets:
            set_stall_timeout(sock, stall_timeout_s)
            sock.listen(hyper.backlog)
        await worker_serve(
            wrap_app(app, hyper.wsgi_max_body_size, "asgi"),
            hyper,
            sockets=sockets,
            task_status=task_status,
        )
    finally:
        for sock in sockets.insecure_sockets:
            sock.close()
        log.info("web stopped")


def set_stall_timeout(sock: socket.socket, timeout_s: float) -> None:
    """Have the kernel drop a connection whose sent data stays unread for ``timeout_s``."""
    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    if option is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, option, int(timeout_s * 1000))


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
