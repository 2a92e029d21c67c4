from __future__ import annotations

import pytest

from clare.core.errors import UsageError
from clare.domain.cost import Series, Total, day_bounds, holdings, parse_when
from clare.domain.events import TaskAssigned, TaskCreated, TaskStateChanged, TaskUnassigned
from clare.domain.prices import BUNDLED, Rates, cost_usd, rates_for
from clare.domain.tasks import EventMeta

DAY = 86_400_000
T0 = 1_800_000_000_000 - 1_800_000_000_000 % DAY  # a UTC midnight


def test_a_series_is_a_step_function_that_only_grows() -> None:
    line = Series(
        [
            (10, {"m": (100, 10, 0, 0, 0)}),
            (20, {"m": (150, 20, 5, 50, 0)}),
            (25, {"m": (120, 5, 0, 0, 0)}),  # an older view of it: no change
            (30, {"m": (150, 20, 5, 50, 0), "n": (1, 1, 0, 0, 0)}),
        ]
    )
    assert line.at(5) == {}
    assert line.at(10) == {"m": (100, 10, 0, 0, 0)}
    assert line.between(0, 15) == {"m": (100, 10, 0, 0, 0)}
    assert line.between(10, 20) == {"m": (50, 10, 5, 50, 0)}
    assert line.between(20, 26) == {}
    assert line.between(20, 99) == {"n": (1, 1, 0, 0, 0)}


def test_prices_match_exact_names_and_date_or_context_suffixes_only() -> None:
    assert rates_for("claude-sonnet-4-5-20250929") is BUNDLED["claude-sonnet-4-5"]
    assert rates_for("claude-opus-4-6[1m]") is BUNDLED["claude-opus-4-6"]
    assert rates_for("claude-opus-4-5") is BUNDLED["claude-opus-4-5"]
    assert rates_for("claude-opus-4-9") is None  # never the rate of claude-opus-4
    mine = Rates(1, 2, 3, 4, 0.5, "clare.toml")
    assert rates_for("claude-opus-4-9-20270101", {"claude-opus-4-9": mine}) is mine


def test_cost_splits_cache_writes_by_how_long_they_are_kept() -> None:
    sonnet = BUNDLED["claude-sonnet-4-5"]
    # 1M input $3, 1M output $15, 1M writes of which 400k for an hour: 0.6*3.75 + 0.4*6,
    # 1M reads $0.30.
    assert cost_usd(sonnet, (10**6, 10**6, 10**6, 10**6, 400_000)) == pytest.approx(
        3 + 15 + 0.6 * 3.75 + 0.4 * 6 + 0.30
    )


def test_an_unknown_model_shows_tokens_and_no_price() -> None:
    total = Total()
    total.add({"claude-unknown-9": (10, 20, 0, 0, 0)})
    report = total.report()
    assert report["cost_usd"] is None
    assert report["tokens"]["output"] == 20
    assert report["unpriced"] == {
        "claude-unknown-9": {
            "input": 10, "output": 20, "cache_write": 0, "cache_read": 0, "cache_write_1h": 0,
        }
    }  # fmt: skip
    total.add({"claude-haiku-4-5": (10**6, 0, 0, 0, 0)})
    both = total.report()
    assert both["cost_usd"] == pytest.approx(1.0)
    assert "claude-unknown-9" in both["unpriced"]


def meta(i: int, at_ms: int) -> EventMeta:
    return EventMeta(f"e{i}", at_ms << 16, "o")


def test_a_task_is_held_while_a_session_has_it_in_progress() -> None:
    events = [
        TaskCreated(task="t-1", project="p", title="x"),
        TaskAssigned(task="t-1", assignee_kind="session", assignee="s1", claimed=True),
        TaskStateChanged(task="t-1", state="in_progress", previous="todo"),
        TaskStateChanged(task="t-1", state="review", previous="in_progress"),
        TaskStateChanged(task="t-1", state="in_progress", previous="review"),
        TaskUnassigned(task="t-1", previous="session:s1"),
        TaskAssigned(task="t-1", assignee_kind="session", assignee="s2"),
    ]
    held = holdings("t-1", [(e, meta(i, 100 + 10 * i)) for i, e in enumerate(events)])
    assert [(h.session, h.start >> 16, None if h.end is None else h.end >> 16) for h in held] == [
        ("s1", 120, 130),
        ("s1", 140, 150),
        ("s2", 160, None),
    ]


def test_days_and_when() -> None:
    assert day_bounds(T0 + 5, T0 + DAY + 7) == [
        (day_bounds(T0, T0 + 1)[0][0], T0 + 5, T0 + DAY),
        (day_bounds(T0 + DAY, T0 + DAY + 1)[0][0], T0 + DAY, T0 + DAY + 7),
    ]
    now = T0 + 5 * 3_600_000
    assert parse_when("24h", now) == now - DAY
    assert parse_when("2w", now) == now - 14 * DAY
    assert parse_when("today", now) == T0
    assert parse_when("1970-01-02", now) == DAY
    with pytest.raises(UsageError):
        parse_when("yesterday-ish", now)
