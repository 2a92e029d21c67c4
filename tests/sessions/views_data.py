"""A writer core and a views DB side by side, for tests that read what the CLI reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from clare.store import eventlog, views
from clare.store.projection import Projection
from tests.helpers import call, make_core

if TYPE_CHECKING:
    import sqlite3
    from pathlib import Path

    from clare.nodes.writer_core import WriterCore

HOST = "00000000-0000-4000-8000-000000000001"


class Fleet:
    """Commands go to a writer core; ``views`` is kept projected after each one."""

    def __init__(self, folder: Path, machine_id: str = HOST) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.core: WriterCore = make_core(folder / "events.db", machine_id=machine_id)
        self.views: sqlite3.Connection = views.open_views_db(folder / "views.db")
        self._projection = Projection(self.views, self.core.conn)

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        result = call(self.core, op, **args)
        self._projection.apply(
            eventlog.read_after(self.core.conn, self._projection.position, 10_000)
        )
        return result

    def session(self, session: str, **snapshot: Any) -> None:
        self.call("session.observe", snapshot={"session": session, **snapshot})
