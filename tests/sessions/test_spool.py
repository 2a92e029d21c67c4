from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.sessions import spool

if TYPE_CHECKING:
    import pytest


def test_spooled_commands_replay_in_order_and_go(tmp_path: Path) -> None:
    for i in range(3):
        spool.append(tmp_path, f"id-{i}", "session.hook", {"n": i})
    assert spool.pending(tmp_path)
    sent: list[tuple[str, str, dict[str, Any]]] = []
    assert spool.drain(tmp_path, lambda *a: sent.append(a)) == (3, 0)
    assert [s[0] for s in sent] == ["id-0", "id-1", "id-2"]
    assert sent[0][2] == {"n": 0}
    assert not spool.pending(tmp_path)


def test_an_unreachable_writer_keeps_the_rest_for_later(tmp_path: Path) -> None:
    for i in range(3):
        spool.append(tmp_path, f"id-{i}", "op", {})
    calls: list[str] = []

    def flaky(request_id: str, op: str, args: dict[str, Any]) -> None:
        calls.append(request_id)
        if request_id == "id-1":
            raise spool.Retry()

    assert spool.drain(tmp_path, flaky) == (1, 0)
    spool.append(tmp_path, "id-3", "op", {})  # a hook spooling meanwhile
    calls.clear()
    assert spool.drain(tmp_path, lambda i, o, a: calls.append(i)) == (3, 0)
    assert calls == ["id-1", "id-2", "id-3"]


def test_bad_lines_and_refused_commands_are_dropped(tmp_path: Path) -> None:
    spool.append(tmp_path, "good", "op", {})
    with open(tmp_path / spool.SPOOL_NAME, "a") as f:
        f.write('garbage\n{"id": 1, "op": "x", "args": {}}\n')
    spool.append(tmp_path, "refused", "op", {})

    def send(request_id: str, op: str, args: dict[str, Any]) -> None:
        if request_id == "refused":
            raise ValueError("the writer said no")

    assert spool.drain(tmp_path, send) == (1, 3)
    assert not spool.pending(tmp_path)


def test_nothing_spooled_is_nothing_to_do(tmp_path: Path) -> None:
    assert not spool.pending(tmp_path / "none")
    assert spool.drain(tmp_path, lambda *a: None) == (0, 0)


def test_no_room_to_rewrite_the_rest_keeps_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        spool.append(tmp_path, f"id-{i}", "op", {})

    def full_disk(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    def second_fails(request_id: str, op: str, args: dict[str, Any]) -> None:
        if request_id == "id-1":
            raise spool.Retry()

    with monkeypatch.context() as patched:
        patched.setattr(Path, "write_bytes", full_disk)
        assert spool.drain(tmp_path, second_fails) == (1, 0)
    assert not list(tmp_path.glob("*.tmp"))
    calls: list[str] = []
    assert spool.drain(tmp_path, lambda i, o, a: calls.append(i)) == (3, 0)
    # id-0 again: the writer answers it from its idempotency table, writing nothing twice.
    assert calls == ["id-0", "id-1", "id-2"]
