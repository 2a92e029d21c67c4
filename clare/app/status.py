"""How this host's nodes are: what `clare status`, the web page and `clare doctor` all show.

Two sources, asked the same way by every shell: the supervisor's record
(``run/up.json``) with each node's lock (:func:`node_health`), and each node's
own answer over its control socket (:func:`probe`). A node is running when
some process holds its lock (the kernel drops it with the process, so it is
never stale); it answers when its probe gets a reply.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

from clare.bus.client import CommandClient
from clare.bus.endpoints import GOSSIP_CONTROL, PROJECTOR_CONTROL, WRITER_COMMANDS, Endpoints
from clare.core.errors import ClareError
from clare.runtime import node_names
from clare.runtime.lock import is_held
from clare.runtime.upstate import read_state

if TYPE_CHECKING:
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

PROBE_TIMEOUT_S = 1.0

#: The command socket each node answers on, and the op that asks it how it is.
PROBES = {
    "writer": (WRITER_COMMANDS, "ping"),
    "projector": (PROJECTOR_CONTROL, "status"),
    "gossip": (GOSSIP_CONTROL, "status"),
}


def node_health(paths: InstancePaths) -> dict[str, dict[str, Any]]:
    """Each node: running (its lock is held), pid and restarts as `clare up` recorded them,
    and ``given_up`` when `clare up` stopped restarting it (a configuration error)."""
    state = read_state(paths) or {}
    supervised = state.get("nodes") if isinstance(state.get("nodes"), dict) else {}
    health: dict[str, dict[str, Any]] = {}
    for name in node_names.START_ORDER:
        info = supervised.get(name, {}) if isinstance(supervised, dict) else {}
        health[name] = {
            "running": is_held(paths.lock_file(name)),
            "pid": info.get("pid") or None,
            "restarts": info.get("restarts", 0),
            "given_up": info.get("given_up") or None,
        }
    return health


def probe(
    paths: InstancePaths, node: str, timeout_s: float = PROBE_TIMEOUT_S
) -> dict[str, Any] | str:
    """The node's answer to its probe, or why there was none."""
    name, op = PROBES[node]
    endpoints = Endpoints(paths)
    try:
        with CommandClient(
            endpoints.ipc(name), endpoints.socket_file(name), timeout_s=timeout_s, attempts=1
        ) as client:
            answer: dict[str, Any] = client.call(op)
            return answer
    except ClareError as exc:
        return str(exc)


def probed_health(paths: InstancePaths) -> dict[str, dict[str, Any]]:
    """:func:`node_health`, with the writer's and the projector's own answers:
    ``answering``, and the writer's ``seq`` and storage error, the projector's position."""
    health = {name: {**entry, "answering": None} for name, entry in node_health(paths).items()}
    writer = probe(paths, "writer")
    if isinstance(writer, dict):
        health["writer"].update(
            answering=True,
            pid=writer["pid"],
            seq=writer["seq"],
            storage_error=writer.get("storage_error"),
        )
    else:
        health["writer"]["answering"] = False
    projector = probe(paths, "projector")
    if isinstance(projector, dict):
        health["projector"].update(
            answering=True, pid=projector["pid"], position=projector["position"]
        )
    else:
        health["projector"]["answering"] = False
    return health


def live_status(paths: InstancePaths, config: Config) -> dict[str, Any]:
    """The part of the status that is not in the databases: this host, its nodes."""
    return {
        "host": {
            "name": config.name,
            "machine_id": config.machine_id,
            "hostname": socket.gethostname(),
        },
        "home": paths.home_hint,
        "up": bool(read_state(paths)),
        "nodes": node_health(paths),
    }
