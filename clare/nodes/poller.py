"""The poller node: keeps this host's agent sessions current in Clare.

Each pass scans every session source in a worker thread (file and process
I/O), lets the pure :class:`PollerCore` pick the snapshots worth recording, and
sends them to the writer as ``session.observe``. Then it replays what the hook
spooled while the writer was down, and saves its own state (transcript offsets
and summaries, last recorded snapshots) to ``<data>/poller/state.json``. That
file is a cache: without it the poller re-reads the transcripts once.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from clare.app.recipients import project_paths
from clare.app.session_poll import PollerCore
from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
from clare.core.errors import ClareError, ServiceUnavailable, StorageError
from clare.domain.commands import SessionObserve
from clare.domain.events import SessionObserved, decode
from clare.domain.session_ops import snapshot_dict
from clare.runtime.logs import get
from clare.sessions import spool
from clare.sessions.claude_home import claude_dir
from clare.sessions.claude_source import ClaudeCodeSource
from clare.sessions.hooked import hooked_dir
from clare.sessions.rclaude_source import RclaudeSource
from clare.store.sqlite import open_reader

if TYPE_CHECKING:
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths
    from clare.sessions.source import SessionSource

log = get("clare.poller")

DEFAULT_INTERVAL_S = 1.0
SAVE_EVERY_S = 60.0


def make_sources(config: Config, paths: InstancePaths | None = None) -> list[SessionSource]:
    """Claude Code's folder (from clare.toml, else ``$CLAUDE_CONFIG_DIR``, else
    ``~/.claude``) with the sessions this instance's hooks recorded, plus rclaude
    when configured."""
    configured = config.claude_config_dir
    folder = Path(configured).expanduser() if configured else claude_dir()
    hooked = hooked_dir(paths.data_dir) if paths is not None else None
    sources: list[SessionSource] = [ClaudeCodeSource(folder, hooked_dir=hooked)]
    if config.rclaude_command:
        sources.append(RclaudeSource(config.rclaude_command))
    return sources


def state_file(paths: InstancePaths) -> Path:
    return paths.data_dir / "poller" / "state.json"


class Poller:
    """The node's state between passes; ``run_pass`` is one pass."""

    def __init__(
        self,
        paths: InstancePaths,
        config: Config,
        client: AsyncCommandClient,
        sources: list[SessionSource],
    ) -> None:
        self.paths = paths
        self.config = config
        self.client = client
        self.sources = sources
        self.core = PollerCore(config.machine_id)
        self._saved = ""
        self._saved_at = -SAVE_EVERY_S
        self.skipped: dict[str, int] = {}
        self.passes = 0
        self._load()

    # -- persistence ---------------------------------------------------------------------

    def _load(self) -> None:
        try:
            state = json.loads(state_file(self.paths).read_text())
        except (OSError, ValueError):
            state = {}
        if not isinstance(state, dict):
            return
        self.core.restore(state.get("core", {}))
        sources = state.get("sources", {})
        for source in self.sources:
            saved = sources.get(source.name) if isinstance(sources, dict) else None
            if isinstance(saved, dict):
                source.restore(saved)

    def save(self) -> None:
        state = {
            "core": self.core.to_dict(),
            "sources": {s.name: s.state() for s in self.sources},
        }
        text = json.dumps(state, separators=(",", ":"))
        self._saved_at = time.monotonic()
        if text == self._saved:
            return
        path = state_file(self.paths)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        self._saved = text

    # -- one pass ------------------------------------------------------------------------

    def _views_state(self) -> tuple[dict[str, str], list[SessionObserved], int | None]:
        """Project paths on this host, its live sessions and the views' position."""
        if not self.paths.views_db.exists():
            return {}, [], None
        try:
            conn = open_reader(self.paths.views_db)
        except StorageError:
            return {}, [], None
        try:
            conn.execute("BEGIN")  # one snapshot: the position matches the rows
            position = int(conn.execute("SELECT seq FROM position WHERE id = 1").fetchone()[0])
            projects = project_paths(conn, self.config.machine_id)
            live = []
            for (raw,) in conn.execute(
                "SELECT snapshot FROM sessions WHERE host = ? AND status != 'ended'",
                (self.config.machine_id,),
            ):
                snap = decode(SessionObserved.kind, json.loads(raw))
                if isinstance(snap, SessionObserved):
                    live.append(snap)
            conn.execute("COMMIT")
            return projects, live, position
        except (ClareError, ValueError, sqlite3.Error):  # views being migrated: next pass
            return {}, [], None
        finally:
            conn.close()

    async def run_pass(self) -> int:
        """Scan, record what changed, replay the spool; returns snapshots recorded."""
        projects, live, position = await trio.to_thread.run_sync(self._views_state)
        self.core.seed(live, position)
        self.passes += 1
        recorded = read = 0
        for source in self.sources:
            now_ms = int(time.time() * 1000)
            scan = await trio.to_thread.run_sync(source.scan, now_ms)
            read += scan.bytes_read
            for problem in scan.problems:
                log.warning("session source problem", source=source.name, problem=problem)
            for reason, n in scan.skipped.items():
                self.skipped[reason] = self.skipped.get(reason, 0) + n
            for snap in self.core.plan(source.name, scan, projects, now_ms):
                seq = 0
                try:
                    reply = await self.client.call(
                        *SessionObserve(snapshot=snapshot_dict(snap)).to_wire()
                    )
                    written = reply.get("events") or []
                    seq = int(written[-1]["seq"]) if written else 0
                except ServiceUnavailable:
                    log.info("writer not answering; will retry", session=snap.session)
                    return recorded
                except ClareError as exc:
                    log.warning("snapshot refused", session=snap.session, error=str(exc))
                self.core.recorded(snap, seq)
                recorded += 1
        for folder in (self.paths.spool_dir, self.paths.fallback_spool_dir):
            if spool.pending(folder):
                sent, dropped = await trio.to_thread.run_sync(self._drain_spool, folder)
                if sent or dropped:
                    log.info("hook spool replayed", sent=sent, dropped=dropped, spool=str(folder))
        # Saving serialises every follower: only worth it when something moved.
        if recorded or read or time.monotonic() - self._saved_at > SAVE_EVERY_S:
            await trio.to_thread.run_sync(self.save)
        return recorded

    def _drain_spool(self, folder: Path) -> tuple[int, int]:
        from clare.bus import rpc
        from clare.bus.client import CommandClient

        endpoints = Endpoints(self.paths)
        with CommandClient(
            endpoints.ipc(WRITER_COMMANDS), endpoints.socket_file(WRITER_COMMANDS)
        ) as client:

            def send(request_id: str, op: str, args: dict[str, Any]) -> None:
                try:
                    client.send(rpc.Request(request_id, op, args))
                except (ServiceUnavailable, StorageError) as exc:
                    # The writer cannot store it now (not running, a full disk):
                    # keep it and the rest for a later pass.
                    raise spool.Retry() from exc
                except ClareError as exc:
                    log.warning("spooled hook call refused", op=op, error=str(exc))
                    raise

            return spool.drain(folder, send)


async def serve_poller(
    paths: InstancePaths,
    config: Config,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    sources: list[SessionSource] | None = None,
    task_status: trio.TaskStatus[Poller] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Poll this host's session sources every ``interval_s`` until cancelled."""
    client = AsyncCommandClient(Endpoints(paths).writer_commands, timeout_s=2.0, attempts=2)
    try:
        poller = Poller(
            paths, config, client, make_sources(config, paths) if sources is None else sources
        )
        log.info("poller ready", sources=[s.name for s in poller.sources])
        task_status.started(poller)
        while True:
            started = trio.current_time()
            try:
                await poller.run_pass()
            except OSError as exc:  # a full disk for the state file: keep polling
                log.warning("poll pass failed", error=str(exc))
            await trio.sleep_until(started + interval_s)
    finally:
        client.close()
