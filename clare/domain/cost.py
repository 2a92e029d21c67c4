"""What sessions spent, over time and per task. Pure: recorded snapshots in, totals out.

Each ``SessionObserved`` carries the session's usage so far, by model (each
API message counted once, see ``clare.sessions.transcript_summary``). The
snapshots of one session, in the agreed order, form a step function of time:
the usage at a moment is that of the last snapshot recorded by then, and the
usage over a span is its difference between the span's ends. So any span can
be costed (a day, "since Monday", the time a session held a task) from events
every host has, with the resolution at which snapshots are recorded (every
change of status, so about one a turn, or every 25,000 tokens).

A task's cost is the usage of each session over the spans in which that
session held it (assigned to it, or claimed by it) and the task was in
progress, as the task's own fold decides them (:func:`holdings`), so a
session's work on other tasks, or on nothing, is not charged to it.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clare.domain.prices import Rates, cost_usd, rates_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from clare.domain.events import DomainEvent
    from clare.domain.tasks import EventMeta

#: The counts of a usage tuple, in order.
COUNTS = ("input", "output", "cache_write", "cache_read", "cache_write_1h")
_ZERO = (0, 0, 0, 0, 0)

Counts = tuple[int, int, int, int, int]
Usage = dict[str, Counts]  # model -> counts


def counts_of(value: Iterable[int]) -> Counts:
    a, b, c, d, e = (*tuple(value)[:5], 0, 0, 0, 0, 0)[:5]
    return (a, b, c, d, e)


def _add(x: Counts, y: Counts) -> Counts:
    return (x[0] + y[0], x[1] + y[1], x[2] + y[2], x[3] + y[3], x[4] + y[4])


def _sub(x: Counts, y: Counts) -> Counts:
    return (x[0] - y[0], x[1] - y[1], x[2] - y[2], x[3] - y[3], x[4] - y[4])


def _max(x: Counts, y: Counts) -> Counts:
    return (max(x[0], y[0]), max(x[1], y[1]), max(x[2], y[2]), max(x[3], y[3]), max(x[4], y[4]))


def add_usage(total: Usage, more: Mapping[str, Counts]) -> None:
    for model, counts in more.items():
        total[model] = _add(total.get(model, _ZERO), counts)


class Series:
    """One session's usage as a step function of time: the events' HLC stamps, which
    order a snapshot and a claim made in the same millisecond as every host does.

    Counts only grow: a snapshot showing less than an earlier one (a hook's,
    made from older knowledge) is taken as showing no change.
    """

    def __init__(self, points: Iterable[tuple[int, Mapping[str, Iterable[int]]]]) -> None:
        self.times: list[int] = []
        self.values: list[Usage] = []
        running: Usage = {}
        for at, usage in points:
            running = dict(running)
            for model, counts in usage.items():
                running[model] = _max(running.get(model, _ZERO), counts_of(counts))
            self.times.append(at)
            self.values.append(running)

    def at(self, stamp: int) -> Usage:
        i = bisect_right(self.times, stamp)
        return self.values[i - 1] if i else {}

    def between(self, start: int, end: int) -> Usage:
        """The usage recorded after stamp ``start`` and by stamp ``end``."""
        if end <= start:
            return {}
        before, after = self.at(start), self.at(end)
        out: Usage = {}
        for model, counts in after.items():
            spent = _sub(counts, before.get(model, _ZERO))
            if any(spent):
                out[model] = spent
        return out


@dataclass(frozen=True)
class Holding:
    """A session held a task in progress from HLC stamp ``start`` until ``end`` (None: still)."""

    task: str
    session: str
    start: int
    end: int | None


def holdings(task_id: str, events: Iterable[tuple[DomainEvent, EventMeta]]) -> list[Holding]:
    """The spans in which a session held the task in progress, by the task's own fold.

    ``events`` are the task's, in the agreed order; folding them here, as the
    projector does, settles races (a lost claim holds nothing) the same way.
    """
    from clare.domain.tasks import apply

    out: list[Holding] = []
    state = None
    holder, since = "", 0
    for event, meta in events:
        state = apply(state, event, meta)
        if state is None:
            continue
        now = meta.hlc
        working = (
            state.assignee
            if state.assignee_kind == "session" and state.state == "in_progress"
            else ""
        )
        if working == holder:
            continue
        if holder:
            out.append(Holding(task_id, holder, since, now))
        holder, since = working, now
    if holder:
        out.append(Holding(task_id, holder, since, None))
    return out


@dataclass
class Total:
    """Tokens by model over some spans, and what they cost where a price is known."""

    usage: Usage = field(default_factory=dict)

    def add(self, usage: Mapping[str, Counts]) -> None:
        add_usage(self.usage, usage)

    def report(self, overrides: Mapping[str, Rates] | None = None) -> dict[str, Any]:
        """Tokens by kind, dollars for the priced models, and the models with no price.

        ``cost_usd`` is None when nothing was priced and some tokens were not; a
        partial sum is marked by ``unpriced`` naming what it leaves out.
        """
        tokens = _ZERO
        priced = 0.0
        any_priced = False
        unpriced: dict[str, dict[str, int]] = {}
        for model, counts in sorted(self.usage.items()):
            tokens = _add(tokens, counts)
            rates = rates_for(model, overrides)
            if rates is None:
                unpriced[model or "(unnamed)"] = dict(zip(COUNTS, counts, strict=True))
                continue
            priced += cost_usd(rates, counts)
            any_priced = True
        return {
            "tokens": dict(zip(COUNTS, tokens, strict=True)),
            "cost_usd": round(priced, 6) if any_priced or not unpriced else None,
            "unpriced": unpriced,
        }


def stamp(ms: int) -> int:
    """The HLC stamp at the very end of millisecond ``ms``: everything made by then."""
    return (ms << 16) | 0xFFFF


def day_bounds(start_ms: int, end_ms: int) -> list[tuple[str, int, int]]:
    """The UTC days ``[start_ms, end_ms)`` touches: (YYYY-MM-DD, start, end), each clipped."""
    import datetime as dt

    day_ms = 86_400_000
    out = []
    first = start_ms - start_ms % day_ms
    for day_start in range(first, end_ms, day_ms):
        name = dt.datetime.fromtimestamp(day_start / 1000, dt.UTC).strftime("%Y-%m-%d")
        out.append((name, max(start_ms, day_start), min(end_ms, day_start + day_ms)))
    return out


_UNITS_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 7 * 86_400_000}


def parse_when(text: str, now_ms: int) -> int:
    """A moment (ms since the epoch) from ``7d``, ``24h``, ``30m``, ``2w`` (that long
    ago), ``today`` (UTC midnight), or an ISO date or time (UTC unless it says)."""
    import datetime as dt

    from clare.core.errors import UsageError

    value = text.strip().lower()
    if value == "today":
        return now_ms - now_ms % 86_400_000
    if value[:-1].isdigit() and value[-1:] in _UNITS_MS:
        return now_ms - int(value[:-1]) * _UNITS_MS[value[-1]]
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--since {text!r}: give a span ago (30m, 24h, 7d, 2w), today, or a date "
            "such as 2026-12-01 or 2026-12-01T09:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def money(figures: Mapping[str, Any] | None) -> str:
    """A report's cost as text: ``$1.23``, ``$1.23 + price unknown``, or ``price unknown``."""
    if not figures:
        return "-"
    if figures["cost_usd"] is None:
        return "price unknown"
    text = f"${figures['cost_usd']:,.2f}"
    return text + " + price unknown" if figures["unpriced"] else text
