"""Which process has bound a Unix socket file: read from Linux's ``/proc``.

A second process binding the same ``ipc://`` path silently takes it over, and
the first one's socket file is then someone else's. So "the socket file
exists" is not enough to say an endpoint belongs to its node: we look up the
socket's inode in ``/proc/net/unix`` and find it among the node's open file
descriptors. Where ``/proc`` is not there (not Linux), the answer is None:
unknown, and callers fall back to the file's existence.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def parse_net_unix(text: str) -> dict[str, set[int]]:
    """Socket path -> inodes, from the text of ``/proc/net/unix``. Pure.

    Each line after the header is ``Num RefCount Protocol Flags Type St Inode
    Path``; sockets without a path (and abstract ones, starting with ``@``)
    are skipped.
    """
    bound: dict[str, set[int]] = {}
    for line in text.splitlines()[1:]:
        fields = line.split(None, 7)
        if len(fields) < 8 or fields[7].startswith("@"):
            continue
        try:
            inode = int(fields[6])
        except ValueError:
            continue
        bound.setdefault(fields[7], set()).add(inode)
    return bound


def socket_inodes(fd_targets: list[str]) -> set[int]:
    """Inodes of the sockets among a process's fd link targets (``socket:[123]``). Pure."""
    inodes = set()
    for target in fd_targets:
        if target.startswith("socket:[") and target.endswith("]"):
            inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def _fd_targets(pid: int, proc: Path) -> list[str] | None:
    fd_dir = proc / str(pid) / "fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return None
    targets = []
    for name in names:
        try:
            targets.append(os.readlink(fd_dir / name))
        except OSError:
            continue  # closed while we looked
    return targets


def bound_by(socket_file: str, pid: int, proc: Path = PROC) -> bool | None:
    """Whether process ``pid`` holds the listening socket bound at ``socket_file``.

    None when it cannot be told (no ``/proc``, or the process is not ours to look into).
    """
    try:
        table = parse_net_unix((proc / "net" / "unix").read_text())
    except OSError:
        return None
    targets = _fd_targets(pid, proc)
    if targets is None:
        return None
    return bool(table.get(socket_file, set()) & socket_inodes(targets))


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (ours or not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
