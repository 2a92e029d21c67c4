"""Realistic event histories, written straight into an events DB with the real EventLog.

Going through the writer would take minutes for a million events; the rows
written here are the ones the writer would write (same schema, same
``EventLog.append_local``, bodies from the real domain event classes), so a
rebuild or a projector catch-up reads exactly what it would read in use.

The mix, over about 10,000 tasks and 1,000 sessions: tasks are created as the
history goes on, state changes follow the allowed transitions and assignments
name the assignee they replace (so the fold sees no conflicts, as in ordinary
use), notes are the commonest event, and session snapshots of sessions on
four other hosts arrive as their pollers would send them.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from clare.core.events import encode_body
from clare.core.hlc import pack, wall_ms
from clare.domain.events import (
    DomainEvent,
    ProjectCreated,
    SessionObserved,
    TaskAssigned,
    TaskCreated,
    TaskNoted,
    TaskStateChanged,
)
from clare.domain.states import TRANSITIONS
from clare.store.eventlog import EventLog, open_events_db
from clare.store.sqlite import transaction

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

PROJECT = "bench"
BATCH = 20_000
STAMPS_PER_MS = 16
FLEET_HOSTS = 4
WORDS = ("parse", "store", "fold", "sync", "index", "cache", "retry", "flush", "merge")


@dataclass
class _World:
    """What the generator remembers so its events make sense together."""

    rng: random.Random
    note_words: int = 20
    tasks: list[str] = field(default_factory=list)
    states: dict[str, str] = field(default_factory=dict)
    assignees: dict[str, str] = field(default_factory=dict)  # task -> "session:ID"
    sessions: list[str] = field(default_factory=list)
    session_hosts: dict[str, str] = field(default_factory=dict)  # session -> host

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))


def shape(n: int) -> tuple[int, int]:
    """(tasks, sessions) a history of ``n`` events creates."""
    return max(10, min(10_000, n // 100)), max(5, min(1_000, n // 1000))


def history(n: int, *, seed: int = 8, note_words: int = 20) -> Iterator[DomainEvent]:
    """``n`` domain events: a project, then the mix described in the module docstring.

    Notes hold ``note_words`` words (about six bytes each).
    """
    world = _World(random.Random(seed), note_words)
    n_tasks, n_sessions = shape(n)
    world.sessions = [str(uuid.UUID(int=world.rng.getrandbits(128))) for _ in range(n_sessions)]
    # The sessions run on the other hosts of a fleet. Had they run here, this
    # host's poller would find their pids gone and end them all at start-up,
    # and the overview page would time a list with no live session in it.
    hosts = [str(uuid.UUID(int=world.rng.getrandbits(128))) for _ in range(FLEET_HOSTS)]
    world.session_hosts = {s: world.rng.choice(hosts) for s in world.sessions}
    yield ProjectCreated(project=PROJECT, description="benchmark data")
    for i in range(1, n):
        # Keep creating tasks at a steady pace until there are n_tasks of them.
        due = len(world.tasks) < n_tasks * i / n + 1
        yield _task_created(world) if due else _next(world)


def _task_created(world: _World) -> TaskCreated:
    task = f"t-{world.rng.getrandbits(40):010x}"
    world.tasks.append(task)
    world.states[task] = "todo"
    return TaskCreated(
        task=task,
        project=PROJECT,
        title=world.text(6),
        body=world.text(30),
        priority=world.rng.randint(0, 3),
        tags=(world.rng.choice(WORDS),),
        author="bench@host",
    )


def _next(world: _World) -> DomainEvent:
    rng = world.rng
    roll = rng.random()
    task = rng.choice(world.tasks)
    if roll < 0.40:
        return TaskNoted(task=task, text=world.text(world.note_words), author="agent@host")
    if roll < 0.70:
        previous = world.states[task]
        state = rng.choice(sorted(TRANSITIONS[previous]))
        world.states[task] = state
        return TaskStateChanged(task=task, state=state, previous=previous, author="agent@host")
    if roll < 0.75:
        session = rng.choice(world.sessions)
        previous = world.assignees.get(task, "")
        world.assignees[task] = f"session:{session}"
        return TaskAssigned(task=task, assignee_kind="session", assignee=session, previous=previous)
    session = rng.choice(world.sessions)
    return SessionObserved(
        session=session,
        host=world.session_hosts[session],
        pid=rng.randint(1000, 99999),
        name="agent",
        cwd="/home/user/src/bench",
        project=PROJECT,
        branch="main",
        status=rng.choice(("busy", "idle", "waiting")),
        version="2.1.328",
        model="claude-sonnet",
        title=world.text(5),
        first_prompt=world.text(12),
        started_at=wall_ms() - 3_600_000,
        last_activity=wall_ms(),
        tokens_in=rng.randint(0, 10**6),
        tokens_out=rng.randint(0, 10**5),
    )


def write_history(path: Path, n: int, machine_id: str, *, note_words: int = 20) -> int:
    """Write ``n`` events into the events DB at ``path`` as ``machine_id``; returns n.

    Stamps end before now, so a writer started on this DB afterwards stamps
    its own events after all of these.
    """
    conn = open_events_db(path)
    try:
        log = EventLog(conn, machine_id)
        start_ms = wall_ms() - n // STAMPS_PER_MS - 60_000
        events = history(n, note_words=note_words)
        written = 0
        while chunk := list(islice(events, BATCH)):
            with transaction(conn):
                for event in chunk:
                    stamp = pack(start_ms + written // STAMPS_PER_MS, written % STAMPS_PER_MS)
                    log.append_local(event.kind, event.entity, encode_body(event.to_body()), stamp)
                    written += 1
    finally:
        conn.close()
    return written
