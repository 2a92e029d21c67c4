"""A node's control socket: one request in, one answer out, on the node's own ROUTER.

The projector (``proj.ctl``) and the gossip node (``gossip.ctl``) answer the
CLI's ``status``, ``rebuild``, ``now``... through the same envelope as the
writer's commands, so the blocking ``CommandClient`` talks to all three. An
error answer carries the request's id whenever the request could be read:
a client ignores answers to ids it did not send.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus import rpc
from clare.bus.zsock import open_socket
from clare.core.errors import ClareError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

#: Control requests are a few fields; anything bigger is not one.
MAX_REQUEST_BYTES = 64 * 1024


async def serve_control(
    endpoint: str,
    handle: Callable[[rpc.Request], Awaitable[dict[str, Any]]],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Bind ``endpoint`` and answer each request with ``handle``'s result or its ClareError."""
    async with open_socket(
        zmq.ROUTER, bind=endpoint, options={zmq.MAXMSGSIZE: MAX_REQUEST_BYTES}
    ) as router:
        task_status.started()
        while True:
            frames = await router.recv()
            if len(frames) != 2:
                continue  # no routing id and payload: nobody to answer
            identity, frame = frames
            request_id = ""
            try:
                request = rpc.parse_request(frame)
                request_id = request.id
                reply = rpc.encode_ok(request.id, await handle(request))
            except ClareError as exc:
                reply = rpc.encode_error(request_id, exc)
            router.send_nowait([identity, reply])
