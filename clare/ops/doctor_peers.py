"""Doctor checks of the peers: their entries in clare.toml, and their links.

An entry is checked on its own (a tcp:// endpoint, a well-formed CURVE key
that is not this host's own). A link is judged by the gossip node, which alone
knows whether the CURVE handshake succeeded and whether the peer's clock is
ahead; without its word, a TCP connection at least tells whether the peer can
be reached.
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from typing import TYPE_CHECKING, Any

from clare.app.status import probe
from clare.core.hlc import DEFAULT_MAX_OFFSET_MS
from clare.ops.checks import Check, Status, failure, ok, warning
from clare.runtime import node_names
from clare.runtime.lock import is_held

if TYPE_CHECKING:
    from clare.runtime.config import Config, Peer
    from clare.runtime.paths import InstancePaths

PEER_CONNECT_TIMEOUT_S = 2.0

# A CURVE public key is 32 bytes in Z85: 40 characters of this alphabet.
_Z85 = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
)


def parse_tcp_endpoint(endpoint: str) -> tuple[str, int] | None:
    """``tcp://host:port`` -> (host, port); None if it is not one."""
    parsed = urllib.parse.urlsplit(endpoint)
    try:
        port = parsed.port
    except ValueError:
        return None
    if parsed.scheme != "tcp" or not parsed.hostname or port is None:
        return None
    return parsed.hostname, port


def is_curve_public_key(key: str) -> bool:
    return len(key) == 40 and all(c in _Z85 for c in key)


def check_peer_config(peer: Peer, own_keys: set[str]) -> Check | None:
    """What is wrong with a peer's entry in clare.toml, or None."""
    name = f"peer:{peer.name}"
    re_add = (
        f"`clare sync peer remove {peer.name}`, then `clare sync peer add {peer.name} "
        f"tcp://HOST:PORT --key KEY` with the key `clare keys show` prints on {peer.name}"
    )
    if parse_tcp_endpoint(peer.endpoint) is None:
        return failure(name, f"endpoint {peer.endpoint!r} is not tcp://HOST:PORT", re_add)
    if not is_curve_public_key(peer.key):
        summary = f"key {peer.key[:12]!r}... is not a CURVE public key (40 Z85 characters)"
        return failure(name, summary, re_add)
    if peer.key in own_keys:
        return failure(name, "key is this host's own public key, not the peer's", re_add)
    return None


def gossip_status(paths: InstancePaths) -> dict[str, Any] | None:
    """The gossip node's status document (``clare sync status --json``), if it answers."""
    if "gossip" not in node_names.NODES or not is_held(paths.lock_file("gossip")):
        return None
    answer = probe(paths, "gossip")
    return answer if isinstance(answer, dict) else None


def check_peers(
    config: Config | None, own_keys: set[str], status: dict[str, Any] | None = None
) -> list[Check]:
    """Each peer's entry, then what the gossip node says of its link (``status``).

    Without a gossip node in this Clare, only the entries are checked. With one
    that does not answer, a TCP connection tells at least whether the peer can
    be reached; authentication and clocks need the node's word.
    """
    if config is None:
        return [warning("peers", "not checked: the config does not load", "see the config check")]
    checks = []
    bind_problem = check_bind_reaches_peers(config)
    if bind_problem is not None:
        checks.append(bind_problem)
    links = {link.get("name"): link for link in (status or {}).get("peers", [])}
    for peer in config.peers:
        problem = check_peer_config(peer, own_keys)
        if problem is not None:
            checks.append(problem)
        elif "gossip" not in node_names.NODES:
            checks.append(
                warning(
                    f"peer:{peer.name}",
                    "key well formed; reachability not checked: this Clare has no gossip node",
                    "upgrade Clare to a version with sync (the gossip node)",
                )
            )
        elif status is None:
            checks.append(check_peer_reachable(peer, "the gossip node is not answering"))
        else:
            checks.append(check_peer_link(peer, links.get(peer.name), config.max_clock_offset_ms))
    if not config.peers:
        checks.append(ok("peers", "no peers: this host syncs with no one"))
    for refusal in (status or {}).get("refused", [])[:3]:
        checks.append(
            warning(
                "peers",
                f"refused {refusal.get('count')} connection(s) from {refusal.get('address')} "
                f"with key {refusal.get('key')}",
                "if that host is yours, allow it: `clare sync peer add NAME tcp://HOST:PORT "
                f"--key {refusal.get('key')}`",
            )
        )
    return checks


def _is_loopback(host: str) -> bool:
    if host in ("localhost", "lo"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind_reaches_peers(config: Config) -> Check | None:
    """A sync port on loopback alone cannot be reached by peers on other machines."""
    if not _is_loopback(config.gossip_bind):
        return None
    for peer in config.peers:
        address = parse_tcp_endpoint(peer.endpoint)
        if address is not None and not _is_loopback(address[0]):
            return warning(
                "gossip-bind",
                f"the sync port listens on {config.gossip_bind} only, but peer {peer.name} "
                f"is at {address[0]}: it cannot connect to this host",
                "`clare init --gossip-bind ADDRESS` with this host's address on the peers' "
                "network (e.g. its WireGuard address), then restart the gossip node",
            )
    return None


def check_peer_link(
    peer: Peer, link: dict[str, Any] | None, max_offset_ms: int = DEFAULT_MAX_OFFSET_MS
) -> Check:
    """A peer as the gossip node sees it: connected (so authenticated), clocks in bounds."""
    name = f"peer:{peer.name}"
    if link is None or not link.get("connected"):
        reachable = check_peer_reachable(peer, "")
        if reachable.status is not Status.OK:
            return reachable
        return failure(
            name,
            f"{peer.endpoint} answers TCP but the link is down: the keys may not match",
            f"compare `clare keys show` on {peer.name} with its key here, and check that "
            f"{peer.name} lists this host's key (`clare sync peer list` there)",
        )
    offset = link.get("clock_offset_ms")
    if isinstance(offset, int) and abs(offset) > max_offset_ms // 2:
        ahead = "ahead of" if offset > 0 else "behind"
        severity = failure if abs(offset) > max_offset_ms else warning
        return severity(
            name,
            f"{peer.name}'s clock is {abs(offset)} ms {ahead} ours (events are refused "
            f"beyond {max_offset_ms} ms)",
            "synchronise the clocks of both hosts (`timedatectl set-ntp true`, `chronyc tracking`)",
        )
    if link.get("clock_ahead"):
        return warning(
            name,
            f"{link['clock_ahead']} batch(es) refused: {peer.name}'s clock is ahead of ours "
            "by more than max_clock_offset_ms",
            "synchronise the clocks of both hosts (`timedatectl set-ntp true`, `chronyc tracking`)",
        )
    clock = f"; clock offset {offset} ms" if isinstance(offset, int) else ""
    return ok(
        name,
        f"connected and authenticated; last contact {link.get('last_contact')}, "
        f"we lack {link.get('we_lack')}, they lack {link.get('they_lack')}{clock}",
    )


def check_peer_reachable(peer: Peer, why: str) -> Check:
    """A TCP connection to the peer's gossip port: the network part of a link."""
    name = f"peer:{peer.name}"
    address = parse_tcp_endpoint(peer.endpoint)
    assert address is not None  # check_peer_config ran first
    try:
        with socket.create_connection(address, timeout=PEER_CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        return failure(
            name,
            f"{peer.endpoint} unreachable: {exc}",
            f"check the tunnel (`wg show`, `ping {address[0]}`) and that Clare runs on "
            f"{peer.name} (`clare doctor` there)",
        )
    if why:
        return warning(
            name,
            f"{peer.endpoint} reachable; authentication not checked: {why}",
            "start the gossip node: `clare up` or `systemctl --user start clare-gossip`",
        )
    return ok(name, f"{peer.endpoint} reachable")
