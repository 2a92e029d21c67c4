"""What `clare sync status` prints for a person."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.cli.cmd_sync import _print_status

if TYPE_CHECKING:
    import pytest


def _status(**extra: Any) -> dict[str, Any]:
    return {
        "running": True,
        "name": "b",
        "origin": "origin-b",
        "port": 8766,
        "bind": "tcp://10.8.0.2:8766",
        "events_held": 4,
        "peers": [],
        "refused": [],
        "notices": [],
        **extra,
    }


def test_slot_conflicts_are_shown_with_where_to_read_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    conflict = {"origin": "origin-a", "origin_seq": 7, "event_id": "e-real", "peer": "a",
                "held_id": "e-forged"}  # fmt: skip
    _print_status(_status(slot_conflicts={"count": 1, "recent": [conflict]}))
    out = capsys.readouterr().out
    assert "gossip port 8766 at tcp://10.8.0.2:8766: running" in out
    assert "SLOT CONFLICTS: 1 event(s)" in out
    assert "origin origin-a seq 7: refused e-real from a, slot held by e-forged" in out
    assert "'Two events for one slot'" in out


def test_no_slot_conflicts_no_line(capsys: pytest.CaptureFixture[str]) -> None:
    _print_status(_status(slot_conflicts={"count": 0, "recent": []}))
    assert "SLOT" not in capsys.readouterr().out
