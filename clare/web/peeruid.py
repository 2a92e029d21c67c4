"""Which local user is on the other end of a loopback TCP connection.

``SO_PEERCRED`` answers this for Unix sockets only, and a browser speaks TCP.
On Linux the kernel knows the uid that created every TCP socket of this
network namespace. The client's socket is the one whose local address is the
client's address and whose remote address is ours: its uid is the user who
connected. It is asked per request (a client port is reused once its
connection closes, so an answer is not kept):

* first through ``NETLINK_SOCK_DIAG``, one exact lookup by the four-tuple
  (about 35 us, whatever the number of sockets; what ``ss`` uses);
* else from ``/proc/net/tcp`` and ``/proc/net/tcp6``, which list every socket
  (about 10 ms with a thousand of them: the fallback only).

Message building and table parsing are pure; ``peer_uid`` does the I/O.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import sys
from pathlib import Path

TCP_TABLES = {4: Path("/proc/net/tcp"), 6: Path("/proc/net/tcp6")}
#: Whether this platform can tell who connects (Linux: netlink, or /proc mounted).
SUPPORTED = hasattr(socket, "AF_NETLINK") or TCP_TABLES[4].exists()

# linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
_HEADER = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_REQUEST = struct.Struct("=BBBBI")  # inet_diag_req_v2: family, protocol, ext, pad, states
_SOCKID = struct.Struct(">HH16s16sIII")  # sport, dport, src, dst, if, cookie[2]
_NO_COOKIE = 0xFFFFFFFF
#: Where idiag_uid sits in an inet_diag_msg: 4 bytes, the sockid, expires, rqueue, wqueue.
_UID_OFFSET = 4 + _SOCKID.size + 12

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


def diag_request(client: tuple[str, int], server: tuple[str, int], seq: int = 1) -> bytes:
    """A sock_diag request for the one TCP socket ``client`` -> ``server``."""
    src, dst = (
        ipaddress.ip_address(_plain_text(client[0])),
        ipaddress.ip_address(_plain_text(server[0])),
    )
    family = socket.AF_INET if src.version == 4 else socket.AF_INET6
    body = _REQUEST.pack(family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + _SOCKID.pack(
        client[1], server[1], src.packed.ljust(16, b"\0"), dst.packed.ljust(16, b"\0"),
        0, _NO_COOKIE, _NO_COOKIE,
    )  # fmt: skip
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq, 0) + body


def diag_uid(answer: bytes) -> int | None:
    """The uid in a sock_diag answer; None when the kernel answered with an error."""
    if len(answer) < _HEADER.size + _UID_OFFSET + 4:
        return None
    _length, kind, _flags, _seq, _pid = _HEADER.unpack_from(answer)
    if kind == NLMSG_ERROR:
        return None
    (uid,) = struct.unpack_from("=I", answer, _HEADER.size + _UID_OFFSET)
    return int(uid)


def _plain_text(ip: str) -> str:
    return _plain(ipaddress.ip_address(ip))


def _ask_netlink(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG) as link:
        link.settimeout(1.0)
        link.sendto(diag_request(client, server), (0, 0))
        return diag_uid(link.recv(8192))


def peer_uid(client: tuple[str, int], server: tuple[str, int]) -> int | None:
    """The uid of the process that opened the TCP connection ``client`` -> ``server``.

    None when it cannot be told: not Linux, not an IP address, or the
    connection already gone.
    """
    if not SUPPORTED:
        return None
    try:
        version = ipaddress.ip_address(client[0]).version
    except ValueError:
        return None
    if hasattr(socket, "AF_NETLINK"):
        try:
            return _ask_netlink(client, server)
        except OSError:
            pass  # no sock_diag in this kernel: read the tables
    return _uid_from_tables(client, server, version)


def _uid_from_tables(client: tuple[str, int], server: tuple[str, int], version: int) -> int | None:
    """Both tables are read when needed: an IPv6 listener takes IPv4 clients."""
    for table_version in (4, 6) if version == 4 else (6, 4):
        try:
            text = TCP_TABLES[table_version].read_text()
        except OSError:
            continue
        uid = find_uid(text, client, server)
        if uid is not None:
            return uid
    return None
