"""What every handler of the web app needs: the instance, the writer, the hub, the databases.

Reads run in a worker thread, so a slow query never holds up the trio loop
that serves the SSE streams, on read-only connections kept open between
reads (``readers``). At most ``readers.READERS`` reads run at once: sixteen
clients asking at the same moment used to mean sixteen threads, each with
its own connections and page caches, for no more throughput on two cores.
"""

from __future__ import annotations

import getpass
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import trio

from clare.store import views as views_mod
from clare.web.hub import Hub
from clare.web.links import LinkSource, NoLinks
from clare.web.readers import READERS, ReaderPool

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    from clare.domain.command import Command
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

T = TypeVar("T")

#: How long an action waits for the views to show what it wrote before answering.
SETTLE_TIMEOUT_S = 2.0
#: How often a waiting action reads the views' position if no notice comes.
SETTLE_POLL_S = 0.05


class Commands(Protocol):
    """The writer, as the web app sees it (``AsyncCommandClient`` or a test double)."""

    async def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]: ...


def default_author(config: Config) -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    return f"{user}@{config.name}"


@dataclass
class WebContext:
    paths: InstancePaths
    config: Config
    commands: Commands
    hub: Hub = field(default_factory=Hub)
    #: Put in every form and checked on every form post (see ``guard.csrf_ok``).
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    author: str = ""
    #: The gossip node's peer links (see ``links``).
    gossip: LinkSource = field(default_factory=NoLinks)

    def __post_init__(self) -> None:
        if not self.author:
            self.author = default_author(self.config)
        self.readers = ReaderPool(self.paths.views_db, self.paths.events_db, size=READERS)
        self._limiter = trio.CapacityLimiter(READERS)

    def read_sync(self, fn: Callable[[sqlite3.Connection, sqlite3.Connection], T]) -> T:
        with self.readers.pair() as (views, events):
            return fn(views, events)

    async def read(self, fn: Callable[[sqlite3.Connection, sqlite3.Connection], T]) -> T:
        """``fn(views, events)`` in a worker thread, on read-only connections."""
        return await trio.to_thread.run_sync(self.read_sync, fn, limiter=self._limiter)

    def close(self) -> None:
        """Close the kept connections (the node calls this when it stops)."""
        self.readers.close()

    async def call(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        """Send a command to the writer, then wait until the views show its events.

        So the page a POST redirects to already shows the change (read-your-writes).
        """
        # Wanted from before the command is sent: the node's feed of view notices
        # is then subscribed by the time the projector announces this write.
        self.hub.views_demand.add()
        try:
            result = await self.commands.call(op, args)
            target = max((int(e.get("seq", 0)) for e in result.get("events", [])), default=0)
            if target:
                await self.settle(target)
            return result
        finally:
            self.hub.views_demand.remove()

    async def submit(self, command: Command) -> dict[str, Any]:
        """``call`` for a typed command."""
        return await self.call(*command.to_wire())

    async def settle(self, seq: int) -> None:
        """Wait (a bounded time) until the views hold event ``seq``.

        Woken by the projector's notices, and reading the position itself every
        ``SETTLE_POLL_S`` besides: notices are a doorbell, not delivery.
        """
        with trio.move_on_after(SETTLE_TIMEOUT_S):
            while await self.read(lambda views, _e: views_mod.position(views)) < seq:
                with trio.move_on_after(SETTLE_POLL_S):
                    await self.hub.wait_view_moved()
