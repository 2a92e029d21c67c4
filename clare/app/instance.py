"""What a CLI command needs of its instance: paths, config, the writer, the views.

Writes go through the writer (one client path for every command). Reads come
from the views DB on a read-only connection; when the stack runs, a read first
waits until the views have caught up with everything the writer has
acknowledged, so a script that adds a task and then lists tasks sees it.
SQLite is imported by the reads alone: a command that only writes (``clare
task add``) starts without it.
"""

from __future__ import annotations

import getpass
import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from clare.bus import rpc
from clare.bus.client import CommandClient
from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
from clare.core.errors import ServiceUnavailable, StorageError
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod

if TYPE_CHECKING:
    import sqlite3

    from clare.domain.command import Command

FRESHNESS_TIMEOUT_S = 3.0


class Instance:
    def __init__(self, home: str | None) -> None:
        self.paths = paths_mod.resolve(home)
        self.endpoints = Endpoints(self.paths)
        self._client: CommandClient | None = None

    @cached_property
    def config(self) -> config_mod.Config:
        return config_mod.load(self.paths)

    @property
    def author(self) -> str:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = "someone"
        return f"{user}@{self.config.name}"

    def client(
        self, *, timeout_s: float | None = None, attempts: int | None = None
    ) -> CommandClient:
        """The writer's command client, kept for the whole command."""
        if self._client is None:
            self._client = self.node_client(
                "writer",
                WRITER_COMMANDS,
                timeout_s=timeout_s or rpc.DEFAULT_TIMEOUT_S,
                attempts=attempts or rpc.DEFAULT_ATTEMPTS,
            )
        return self._client

    def node_client(
        self, node: str, socket_name: str, *, timeout_s: float, attempts: int = 1
    ) -> CommandClient:
        """A client for a node's request socket, failing at once when the node is down."""
        return CommandClient(
            self.endpoints.ipc(socket_name),
            self.endpoints.socket_file(socket_name),
            lock_file=self.paths.lock_file(node),
            timeout_s=timeout_s,
            attempts=attempts,
        )

    def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        self.config  # noqa: B018 - a missing instance is reported before "not running"
        return self.client().call(op, args)

    def submit(self, command: Command) -> dict[str, Any]:
        """Ask the writer to do ``command``: its typed form of ``call``."""
        return self.call(*command.to_wire())

    def writer_seq(self) -> int | None:
        """The writer's last seq, or None if it is not running."""
        try:
            with self.node_client("writer", WRITER_COMMANDS, timeout_s=1.0) as client:
                return int(client.call("ping")["seq"])
        except ServiceUnavailable:
            return None

    def views(self, *, fresh: bool = True) -> sqlite3.Connection:
        # Not clare.store.views (it brings the whole domain): only the light modules.
        from clare.store.position import NO_SCHEMA, position_or_none_yet
        from clare.store.sqlite import open_reader

        self.config  # noqa: B018
        seq = self.writer_seq() if fresh else None
        if seq is not None:
            # The writer answers before the projector, started just after it, has made
            # its file: a read right after the first write waits for it, as for a row.
            deadline = time.monotonic() + FRESHNESS_TIMEOUT_S
            while not self.paths.views_db.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        if not self.paths.views_db.exists():
            raise StorageError(
                f"no views yet at {self.paths.views_db}: start Clare once with `clare up`"
            )
        conn = open_reader(self.paths.views_db)
        if seq is not None:
            deadline = time.monotonic() + FRESHNESS_TIMEOUT_S
            while position_or_none_yet(conn) < seq and time.monotonic() < deadline:
                time.sleep(0.005)
        if position_or_none_yet(conn) == NO_SCHEMA:
            conn.close()
            raise StorageError(
                f"the views at {self.paths.views_db} are not created yet (the projector is "
                "starting): try again in a moment"
            )
        return conn

    def events(self) -> sqlite3.Connection:
        from clare.store.sqlite import open_reader

        self.config  # noqa: B018
        return open_reader(self.paths.events_db)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
