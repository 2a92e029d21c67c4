"""Fixtures for the web tests: an instance whose writer and projector run in-process.

``LocalWriter`` stands in for the writer node behind the ``Commands``
interface: it runs the real ``WriterCore`` and ``Projection`` on real SQLite
files, then rings the hub the way the writer's and projector's PUB sockets
do, so the app under test sees exactly what it sees in production, minus the
sockets.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

from clare.bus import rpc
from clare.core import hlc
from clare.core.errors import ClareError
from clare.core.events import encode_body
from clare.core.hlc import HybridClock
from clare.domain.events import SessionObserved
from clare.nodes.writer_core import WriterCore
from clare.runtime.config import Config
from clare.runtime.paths import InstancePaths, resolve
from clare.store.eventlog import open_events_db, open_events_reader
from clare.store.projection import Projection
from clare.store.views import open_views_db
from clare.web.app import create_app
from clare.web.context import WebContext
from clare.web.hub import Hub, ViewNotice

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.web.guard import Policy

with warnings.catch_warnings():
    # Newer Starlette prefers the httpx2 package for its test client; httpx
    # (in the test extra) still works, so the notice is not a failure here.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

MACHINE = "00000000-0000-4000-8000-0000000000aa"
PEER = "00000000-0000-4000-8000-0000000000bb"
_ids = itertools.count()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives a real headless Chromium (tests/web/install_browser.sh)"
    )


@pytest.fixture
def home() -> Iterator[Path]:
    # Short, because Unix socket paths are limited to 107 bytes.
    path = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


class LocalWriter:
    """The writer and projector of one instance, run synchronously in the test."""

    def __init__(self, paths: InstancePaths, hub: Hub, machine_id: str = MACHINE) -> None:
        self.paths = paths
        self.hub = hub
        self.core = WriterCore(open_events_db(paths.events_db), machine_id, HybridClock())
        self.projection = Projection(
            open_views_db(paths.views_db), open_events_reader(paths.events_db)
        )
        self.publish = True
        self.peer_seq = 0

    def call_sync(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        request = rpc.Request(f"t-{next(_ids)}", op, dict(args or {}))
        outcome = self.core.handle_batch([(b"c", request.encode())])
        ((_, frame),) = outcome.replies
        changed = self.projection.apply(outcome.committed)
        if self.publish:
            for event in outcome.committed:
                self.hub.publish_event(event)
            self.hub.publish_view(
                ViewNotice(self.projection.position, {k: sorted(v) for k, v in changed.items()})
            )
        _, result = rpc.parse_reply(frame)
        if isinstance(result, ClareError):
            raise result
        return result

    async def call(self, op: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.call_sync(op, args)

    def ingest(self, kind: str, body: dict[str, Any]) -> None:
        """Store an event made by the peer host, as sync would hand it to the writer."""
        self.peer_seq += 1
        event = [
            str(uuid.uuid4()), PEER, self.peer_seq, hlc.pack(int(time.time() * 1000), 0),
            kind, encode_body(body),
        ]  # fmt: skip
        result = self.call_sync("ingest", {"events": [event]})
        assert result["stored"] == 1, result

    def observe(self, session: str, **fields: Any) -> None:
        """Record a session on the peer host, as its poller would."""
        now = int(time.time() * 1000)
        defaults = {"status": "busy", "started_at": now - 60_000, "last_activity": now}
        body = SessionObserved(session=session, host=PEER, **{**defaults, **fields}).to_body()
        self.ingest("SessionObserved", body)

    def close(self) -> None:
        self.core.conn.close()
        self.projection.views.close()
        self.projection.events.close()


@dataclass
class Web:
    paths: InstancePaths
    config: Config
    writer: LocalWriter
    ctx: WebContext
    client: TestClient

    def form(self, path: str, fields: dict[str, str], **kwargs: Any) -> Any:
        """POST a form the way the page does (CSRF field, same-origin headers)."""
        headers = {"sec-fetch-site": "same-origin", "origin": "http://testserver"}
        return self.client.post(
            path,
            data={"csrf": self.ctx.csrf, **fields},
            headers=headers,
            follow_redirects=False,
            **kwargs,
        )

    def post_json(self, path: str, body: Any) -> Any:
        return self.client.post(path, json=body, headers={"sec-fetch-site": "same-origin"})


def make_web(home: Path, policy: Policy | None = None) -> Web:
    paths = resolve(home)
    config = Config(machine_id=MACHINE, name="alpha")
    hub = Hub()
    writer = LocalWriter(paths, hub)
    writer.call_sync("host.name", {"name": "alpha"})
    writer.ingest("HostNamed", {"machine_id": PEER, "name": "beta", "groups": ["gpu"]})
    ctx = WebContext(paths, config, writer, hub, author="tester@alpha")
    client = TestClient(create_app(ctx, policy), backend="trio", raise_server_exceptions=False)
    return Web(paths, config, writer, ctx, client)


@pytest.fixture
def web(home: Path) -> Iterator[Web]:
    made = make_web(home)
    with made.client:
        yield made
    made.ctx.close()
    made.writer.close()
