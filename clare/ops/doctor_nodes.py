"""Doctor checks of the running stack: each node and the endpoints it binds.

A node is up when some process holds its lock file (the kernel drops the lock
when the process dies, so this is never stale). It answers when a probe over
its own socket gets a reply: ``ping`` for the writer, ``status`` for the
projector; other nodes have no probe yet, so for them holding the lock is all
we can say. The nodes looked at are those of :data:`clare.runtime.node_names.NODES` at
run time, so a node added later is checked without a change here.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from clare.app.status import PROBE_TIMEOUT_S, PROBES, probe
from clare.bus.endpoints import (
    GOSSIP_CONTROL,
    PROJECTOR_CONTROL,
    PROJECTOR_VIEWS,
    PUBLISHERS,
    WRITER_COMMANDS,
    WRITER_EVENTS,
    Endpoints,
)
from clare.ops import peercred
from clare.ops.checks import Check, failure, ok, warning
from clare.runtime import node_names
from clare.runtime.lock import is_held, read_holder

if TYPE_CHECKING:
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

#: The sockets a running node must have bound (nodes not named here bind as they please).
EXPECTED = {
    "writer": (WRITER_COMMANDS, WRITER_EVENTS),
    "projector": (PROJECTOR_CONTROL, PROJECTOR_VIEWS),
    "gossip": (GOSSIP_CONTROL,),
}

#: Socket file name -> the node that binds it.
OWNERS = {
    **{sock: node for node, sock in PUBLISHERS.items()},
    WRITER_COMMANDS: "writer",
    PROJECTOR_CONTROL: "projector",
    GOSSIP_CONTROL: "gossip",
}


def _start_fix(node: str) -> str:
    return f"start Clare: `clare up`, or `systemctl --user start clare-{node}`"


def _restart_fix(node: str) -> str:
    return (
        f"restart it (`systemctl --user restart clare-{node}`, or stop and start `clare up`); "
        f"its log says why: `journalctl --user -u clare-{node}`"
    )


def check_node(paths: InstancePaths, node: str, config: Config | None = None) -> Check:
    name = f"node:{node}"
    lock = paths.lock_file(node)
    if not is_held(lock):
        return failure(name, f"the {node} node is not running", _start_fix(node))
    pid = read_holder(lock)
    if node == "web" and config is not None:
        return _check_web(name, pid, config)
    if node not in PROBES:
        return ok(name, f"running (pid {pid}); this node has no probe")
    answer = probe(paths, node)
    if isinstance(answer, str):
        summary = f"running (pid {pid}) but not answering on {PROBES[node][0]}: {answer}"
        return failure(name, summary, _restart_fix(node))
    detail = "".join(f", {k} {answer[k]}" for k in ("seq", "position") if k in answer)
    return ok(name, f"running and answering (pid {pid}{detail})")


def _check_web(name: str, pid: int | None, config: Config) -> Check:
    # The page may need a token, so a TCP connection is the probe: is it listening?
    host = "127.0.0.1" if config.web_host in ("", "0.0.0.0", "::") else config.web_host
    try:
        with socket.create_connection((host, config.web_port), timeout=PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        summary = f"running (pid {pid}) but not listening on {host}:{config.web_port}: {exc}"
        return failure(name, summary, _restart_fix("web"))
    return ok(name, f"running (pid {pid}), listening on http://{host}:{config.web_port}")


def check_endpoints(paths: InstancePaths, node: str) -> Check | None:
    """The node's socket files exist and are bound by the process that holds its lock.

    None for a stopped node that left nothing behind: there is nothing to say.
    """
    name = f"endpoints:{node}"
    endpoints = Endpoints(paths)
    socks = sorted(s for s, owner in OWNERS.items() if owner == node)
    present = [s for s in socks if (paths.runtime_dir / s).exists()]
    if not present and node not in EXPECTED:
        return None  # a node with no socket of its own (the poller, the web node)
    lock = paths.lock_file(node)
    if not is_held(lock):
        if present:
            stale = " ".join(str(paths.runtime_dir / s) for s in present)
            return warning(
                name,
                f"{', '.join(present)} left behind by a stopped {node} node "
                "(clients wait for a timeout instead of failing at once)",
                f"start the node (`clare up`), or remove them: rm {stale}",
            )
        return None
    pid = read_holder(lock)
    if pid is None or not peercred.pid_alive(pid):
        return failure(
            name,
            f"the {node} lock is held but names no live process (pid {pid})",
            f"stop every Clare process of this instance, then `clare up`; see `fuser {lock}`",
        )
    missing = [s for s in EXPECTED.get(node, ()) if s not in present]
    if missing:
        return failure(name, f"{', '.join(missing)} missing", _restart_fix(node))
    for sock in present:
        socket_file = endpoints.socket_file(sock)
        try:
            owner = peercred.listener_pid(socket_file)
        except peercred.NobodyListens:
            return failure(name, f"nobody listens on {sock}", _restart_fix(node))
        except OSError as exc:
            return failure(name, f"cannot connect to {sock}: {exc}", _restart_fix(node))
        if owner is not None and owner != pid:
            return failure(
                name,
                f"{sock} is bound by pid {owner}, not by the {node} node (pid {pid}): "
                "another process took it over",
                f"stop pid {owner} (`ps -p {owner}`), then restart the {node} node",
            )
    return ok(name, f"{', '.join(present)} owned by pid {pid}")


def check_nodes(paths: InstancePaths, config: Config | None = None) -> list[Check]:
    checks = []
    for node in node_names.START_ORDER:
        checks.append(check_node(paths, node, config))
        endpoints = check_endpoints(paths, node)
        if endpoints is not None:
            checks.append(endpoints)
    return checks
