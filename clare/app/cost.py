"""What the fleet spent: ``clare cost`` and the page read these.

Reads each session's recorded snapshots and each task's events from the
events DB (the truth, the same on every synced host), and hands them to the
pure :mod:`clare.domain.cost`, which turns them into usage over spans and
dollars by the price table (:mod:`clare.domain.prices`, with the instance's
``[prices]`` overrides).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, UsageError
from clare.domain.cost import Series, Total, day_bounds, holdings, stamp
from clare.domain.prices import SOURCE, TAKEN_ON, Rates
from clare.store import eventlog, queries_common, queries_sessions

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Iterable

    from clare.runtime.config import Config

GROUPINGS = ("project", "task", "session", "host", "day")


def overrides(config: Config) -> dict[str, Rates]:
    """The ``[prices]`` of clare.toml (rates in the order of ``config.PRICE_FIELDS``)."""
    out = {}
    for model, rates in config.prices:
        tokens_in, tokens_out, written, written_1h, read = rates
        out[model] = Rates(tokens_in, tokens_out, written, written_1h, read, "clare.toml")
    return out


def session_series(events: sqlite3.Connection, session_id: str) -> Series:
    from clare.domain.events import SessionObserved
    from clare.domain.registry import decode_event

    points = []
    for event in eventlog.entity_events(events, "s:" + session_id):
        try:
            snapshot = decode_event(event)
        except ClareError:
            continue
        if isinstance(snapshot, SessionObserved):
            points.append((event.hlc, snapshot.usage))
    return Series(points)


def task_holdings(events: sqlite3.Connection, task_ids: Iterable[str]) -> list[Any]:
    from clare.domain.fold import meta_of
    from clare.domain.registry import decode_event

    out = []
    for task_id in task_ids:
        decoded = []
        for event in eventlog.entity_events(events, task_id):
            try:
                decoded.append((decode_event(event), meta_of(event)))
            except ClareError:
                continue
        out.extend(holdings(task_id, decoded))
    return out


def cost_report(
    views: sqlite3.Connection,
    events: sqlite3.Connection,
    config: Config,
    *,
    by: str = "project",
    since_ms: int = 0,
    now_ms: int,
    task_ids: list[str] | None = None,
) -> dict[str, Any]:
    """Usage and cost from ``since_ms`` to ``now_ms``, grouped ``by`` one of GROUPINGS.

    ``task_ids`` limits a report by task to those tasks (the task page asks for one).
    """
    if by not in GROUPINGS:
        raise UsageError(f"--by must be one of {', '.join(GROUPINGS)}, not {by!r}")
    sessions = {s["id"]: s for s in queries_sessions.list_sessions(views, include_ended=True)}
    series: dict[str, Series] = {}

    def line_of(sid: str) -> Series:
        # Read once, and only for the sessions asked about (a task's page asks for few).
        if sid not in series:
            series[sid] = session_series(events, sid)
        return series[sid]

    groups: dict[str, Total] = {}
    total = Total()

    def charge(key: str, usage: dict[str, Any]) -> None:
        if usage:
            groups.setdefault(key, Total()).add(usage)

    # Spans hold the events stamped after their start and by their end: from the
    # millisecond ``since_ms`` on, up to the end of the millisecond ``now_ms``.
    since, now = stamp(since_ms - 1) if since_ms else 0, stamp(now_ms)
    if by == "task":
        ids = task_ids if task_ids is not None else eventlog.entities_with_prefix(events, "t-")
        for held in task_holdings(events, ids):
            end = now if held.end is None else min(held.end, now)
            usage = line_of(held.session).between(max(held.start, since), end)
            charge(held.task, usage)
            total.add(usage)
    else:
        for sid in sessions:
            line = line_of(sid)
            if by == "day":
                if not line.times:
                    continue
                first_ms = line.times[0] >> 16
                for day, start, end in day_bounds(since_ms or first_ms, now_ms + 1):
                    charge(day, line.between(stamp(start - 1), stamp(end - 1)))
            else:
                session = sessions[sid]
                key = {
                    "session": sid,
                    "project": session["project"] or "(no project)",
                    "host": session["host"],
                }[by]
                charge(key, line.between(since, now))
            total.add(line.between(since, now))
    price = overrides(config)
    rows = [{"key": key, **groups[key].report(price)} for key in sorted(groups)]
    return {
        "by": by,
        "since": queries_common.iso(since_ms, is_hlc=False) if since_ms else None,
        "until": queries_common.iso(now_ms, is_hlc=False),
        "rows": rows,
        "total": total.report(price),
        "prices": {"source": SOURCE, "taken_on": TAKEN_ON, "overridden": sorted(price)},
    }


def usage_report(usage: dict[str, Any], config: Config) -> dict[str, Any]:
    """What one snapshot's usage by model (a session's so far) comes to."""
    from clare.domain.cost import counts_of

    total = Total()
    total.add({model: counts_of(counts) for model, counts in usage.items()})
    return total.report(overrides(config))
