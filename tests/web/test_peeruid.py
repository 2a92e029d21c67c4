"""Who is on the other end of a loopback connection: the table parser, and the kernel's answer."""

from __future__ import annotations

import ipaddress
import socket

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
    assert peeruid.peer_uid(("not-an-ip", 1), ("127.0.0.1", 1)) is None
