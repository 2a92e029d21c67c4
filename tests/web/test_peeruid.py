"""Who is on the other end of a loopback connection: the table parser, and the kernel's answer."""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest

from clare.web import peeruid

# Two rows of /proc/net/tcp as a little-endian Linux prints them: a listener on
# 127.0.0.1:8765 (uid 0) and a client 127.0.0.1:40000 -> 127.0.0.1:8765 of uid 1000.
TABLE = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:223D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 0100007F:9C40 0100007F:223D 01 00000000:00000000 00:00000000 00000000  1000        0 2 1
   2: garbage
"""

little_endian = pytest.mark.skipif(
    __import__("sys").byteorder != "little", reason="the sample table is little-endian"
)


@little_endian
def test_addresses_decode_from_the_kernels_hex() -> None:
    assert peeruid.decode_address("0100007F:223D") == (ipaddress.ip_address("127.0.0.1"), 8765)
    six = peeruid.decode_address("00000000000000000000000001000000:0050")
    assert six == (ipaddress.ip_address("::1"), 80)


@little_endian
def test_the_client_row_names_the_uid_not_the_servers() -> None:
    assert peeruid.find_uid(TABLE, ("127.0.0.1", 40000), ("127.0.0.1", 8765)) == 1000
    # The same ports the other way round is the server's own socket: not asked for.
    assert peeruid.find_uid(TABLE, ("127.0.0.1", 8765), ("127.0.0.1", 40000)) is None
    assert peeruid.find_uid(TABLE, ("127.0.0.1", 40001), ("127.0.0.1", 8765)) is None
    # An IPv6 listener sees an IPv4 client as ::ffff:127.0.0.1.
    assert peeruid.find_uid(TABLE, ("::ffff:127.0.0.1", 40000), ("127.0.0.1", 8765)) == 1000


@pytest.mark.skipif(not peeruid.SUPPORTED, reason="no /proc/net/tcp on this system")
@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_the_kernel_names_our_own_uid(family: socket.AddressFamily, host: str) -> None:
    import os

    try:
        listener = socket.socket(family)
        listener.bind((host, 0))
    except OSError as exc:
        pytest.skip(f"cannot listen on {host}: {exc}")
    with listener:
        listener.listen()
        with socket.socket(family) as client:
            client.connect(listener.getsockname())
            accepted, address = listener.accept()
            with accepted:
                server = accepted.getsockname()
                assert peeruid.peer_uid(address[:2], server[:2]) == os.getuid()
                # The fallback reads the same answer from the tables.
                version = 4 if family == socket.AF_INET else 6
                assert peeruid._uid_from_tables(address[:2], server[:2], version) == os.getuid()
                # The server's own end of the connection is not the client's.
                assert (
                    peeruid.peer_uid(("127.0.0.1" if version == 4 else "::1", 1), server[:2])
                    is None
                )
    assert peeruid.peer_uid(("not-an-ip", 1), ("127.0.0.1", 1)) is None


@little_endian
def test_a_sock_diag_request_names_the_client_socket_exactly() -> None:
    request = peeruid.diag_request(("127.0.0.1", 40000), ("127.0.0.1", 8765), seq=7)
    length, kind, flags, seq, _pid = struct.unpack_from("=IHHII", request)
    assert (length, kind, flags, seq) == (len(request), 20, 1, 7)
    family, protocol = request[16], request[17]
    assert (family, protocol) == (socket.AF_INET, socket.IPPROTO_TCP)
    sport, dport, src, dst = struct.unpack_from(">HH16s16s", request, 24)
    assert (sport, dport) == (40000, 8765)
    assert src[:4] == dst[:4] == bytes([127, 0, 0, 1])
    # An IPv4 client seen by an IPv6 listener is looked up as the IPv4 socket it is.
    mapped = peeruid.diag_request(("::ffff:127.0.0.1", 40000), ("::ffff:127.0.0.1", 8765))
    assert mapped[16] == socket.AF_INET
    six = peeruid.diag_request(("::1", 40000), ("::1", 8765))
    assert six[16] == socket.AF_INET6


@little_endian
def test_a_sock_diag_answer_gives_the_uid_or_nothing() -> None:
    header = struct.Struct("=IHHII")
    message = bytes(4 + 48 + 12) + struct.pack("=II", 1000, 99)
    answer = header.pack(header.size + len(message), 20, 0, 1, 0) + message
    assert peeruid.diag_uid(answer) == 1000
    error = header.pack(header.size + 4 + 16, 2, 0, 1, 0) + struct.pack("=i", -2) + bytes(16)
    assert peeruid.diag_uid(error + bytes(80)) is None
    assert peeruid.diag_uid(b"short") is None
