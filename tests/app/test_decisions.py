from __future__ import annotations

from clare.app.decisions import stale_asks
from clare.domain.decisions import PermissionAsk
from clare.sessions.hooks_settings import permission_timeout_s

NOW = 1_800_000_000_000


def ask(decision: str, session: str, asked_at: int) -> PermissionAsk:
    return PermissionAsk(id=decision, asked=True, session=session, host="h", asked_at=asked_at)


def test_asks_of_ended_sessions_and_past_any_hooks_wait_are_stale() -> None:
    limit_ms = permission_timeout_s(60) * 1000
    asks = [
        ask("d-live", "s1", NOW - 1000),
        ask("d-ended", "s2", NOW - 1000),
        ask("d-old", "s3", NOW - limit_ms - 1),
        ask("d-just", "s3", NOW - limit_ms + 1),
    ]
    assert stale_asks(asks, {"s2"}, NOW, 60) == {"ended": ["d-ended"], "expired": ["d-old"]}
    assert stale_asks([], {"s2"}, NOW, 60) == {}
