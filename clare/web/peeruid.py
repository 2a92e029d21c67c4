"""Which local user is on the other end of a loopback TCP connection.

``SO_PEERCRED`` answers this for Unix sockets only, and a browser speaks TCP.
On Linux the kernel lists every TCP socket of this network namespace in
``/proc/net/tcp`` and ``/proc/net/tcp6``, each with the uid that created it.
A client's socket is the row whose local address is the client's address and
whose remote address is ours: its uid is the user who connected. The table is
read per request (a connection's client port is reused once it closes, so an
answer is not kept); a row is a few dozen bytes and loopback tables are short.

Parsing is pure (``find_uid`` over the table's text); ``peer_uid`` reads it.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from pathlib import Path

TCP_TABLES = {4: Path("/proc/net/tcp"), 6: Path("/proc/net/tcp6")}
#: Whether this platform can tell who connects (Linux with /proc mounted).
SUPPORTED = TCP_TABLES[4].exists()

Address = tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]


def decode_address(text: str) -> Address:
    """A ``/proc/net/tcp`` address (``0100007F:1F90``) as (ip, port).

    The kernel prints the address as 32-bit words in host byte order, in hex.
    """
    hex_ip, _, hex_port = text.partition(":")
    raw = b"".join(
        int(hex_ip[i : i + 8], 16).to_bytes(4, sys.byteorder) for i in range(0, len(hex_ip), 8)
    )
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return ipaddress.ip_address(socket.inet_ntop(family, raw)), int(hex_port, 16)


def _plain(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    # An IPv6 socket shows an IPv4 client as ::ffff:127.0.0.1; compare the IPv4 part.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def find_uid(table: str, client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid owning the socket ``client`` -> ``server`` in a table's text; None if absent."""
    want_local = (_plain(ipaddress.ip_address(client[0])), client[1])
    want_remote = (_plain(ipaddress.ip_address(server[0])), server[1])
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            local_ip, local_port = decode_address(fields[1])
            remote_ip, remote_port = decode_address(fields[2])
            uid = int(fields[7])
        except ValueError:
            continue
        if (_plain(local_ip), local_port) == want_local and (
            _plain(remote_ip),
            remote_port,
        ) == want_remote:
            return uid
    return None


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid of the process that opened the TCP connection ``client`` -> ``server``.

    None when it cannot be told: not Linux, not an IP address, or the
    connection already gone. Both tables are read when the families differ
    (an IPv6 listener takes IPv4 clients).
    """
    if not SUPPORTED:
        return None
    try:
        version = ipaddress.ip_address(client[0]).version
    except ValueError:
        return None
    for table_version in (4, 6) if version == 4 else (6, 4):
        try:
            text = TCP_TABLES[table_version].read_text()
        except OSError:
            continue
        uid = find_uid(text, client, server)
        if uid is not None:
            return uid
    return None
