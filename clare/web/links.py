"""The gossip node's view of its peer links, for the hosts panel: asked, briefly cached.

The gossip node answers ``status`` on its control socket (``clare sync
status``). The web asks only while the gossip node holds its lock, with one
short attempt, and keeps the answer a second, so a page never waits long on
sync and a burst of page loads makes one request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import GOSSIP_CONTROL, Endpoints
from clare.core.errors import ClareError
from clare.runtime.lock import is_held

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

CACHE_S = 1.0
TIMEOUT_S = 0.5


class LinkSource(Protocol):
    async def links(self) -> dict[str, Any] | None:
        """The gossip node's status report, or None when it is not running."""
        ...


def summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the page shows of a ``clare sync status`` report: each link and the totals."""
    if report is None:
        return None
    keep = ("name", "endpoint", "connected", "last_contact", "we_lack", "they_lack")
    return {
        "links": [
            {k: link.get(k) for k in keep}
            for link in report.get("peers", [])
            if isinstance(link, dict)
        ],
        "totals": report.get("totals", {}),
        "refused": len(report.get("refused", [])),
    }


class GossipLinks:
    """Asks the gossip node of one instance for its status."""

    def __init__(self, paths: InstancePaths) -> None:
        self.paths = paths
        self._client = AsyncCommandClient(
            Endpoints(paths).ipc(GOSSIP_CONTROL), timeout_s=TIMEOUT_S, attempts=1
        )
        self._at = -CACHE_S
        self._value: dict[str, Any] | None = None
        self._lock = trio.Lock()

    async def links(self) -> dict[str, Any] | None:
        async with self._lock:
            if trio.current_time() - self._at < CACHE_S:
                return self._value
            value = None
            if is_held(self.paths.lock_file("gossip")):
                try:
                    value = summary(await self._client.call("status"))
                except ClareError:
                    value = None
            self._value, self._at = value, trio.current_time()
            return value

    def close(self) -> None:
        self._client.close()


class NoLinks:
    """For an instance without sync (and for tests)."""

    async def links(self) -> dict[str, Any] | None:
        return None
