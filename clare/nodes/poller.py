"""The poller node: keeps this host's agent sessions current in Clare.

A pass runs as soon as Claude Code's files change (inotify, see
:mod:`clare.nodes.file_watch`), and on a slow safety re-scan. Each pass
scans every session source in a worker thread (file and process I/O), lets
the pure :class:`PollerCore` pick the snapshots worth recording, and sends
them to the writer as ``session.observe``. Then it replays what the hook
spooled while the writer was down, and saves its own state (transcript
offsets and summaries, last recorded snapshots) to
``<data>/poller/state.json``. That file is a cache: without it the poller
re-reads the transcripts once.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import trio

from clare.app.decisions import stale_asks_in
from clare.app.session_poll import PollerCore
from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
from clare.core.errors import ClareError, ServiceUnavailable, StorageError
from clare.domain.commands import DecisionSettle, SessionObserve, TaskRelease
from clare.domain.session_ops import snapshot_dict
from clare.nodes.dispatcher import serve_dispatcher
from clare.nodes.exit_watch import ExitWatch
from clare.nodes.file_watch import InotifyWatch, open_watch
from clare.nodes.push import serve_push
from clare.runtime.logs import get
from clare.sessions import spool
from clare.sessions.claude_home import claude_dir
from clare.sessions.claude_source import ClaudeCodeSource
from clare.sessions.hooked import hooked_dir
from clare.sessions.rclaude_source import RclaudeSource
from clare.store import queries_sessions
from clare.store.sqlite import open_reader, reading

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from clare.domain.events import SessionObserved
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths
    from clare.sessions.source import SessionSource

log = get("clare.poller")

#: Between passes where inotify is unavailable (or a source has no files to watch).
DEFAULT_INTERVAL_S = 1.0
#: The safety re-scan while watching: finds what no file change shows (a crashed
#: session's file left behind, a session the views show that no source sees).
RESCAN_S = 30.0
#: After a change, wait this long for the rest of its burst (a file written in parts).
SETTLE_S = 0.01
#: The least time between the starts of two passes: a busy session appends to its
#: transcript many times a second, and each pass reads and stats every session.
MIN_GAP_S = 0.2
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
        #: Tasks still held by this host's ended sessions, as the views last showed.
        self.held: dict[str, list[str]] = {}
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

    def watch_folders(self) -> set[Path] | None:
        """The folders whose changes are the sources' news; None if a source cannot say."""
        folders = {self.paths.spool_dir, self.paths.fallback_spool_dir}
        for source in self.sources:
            watch_folders = getattr(source, "watch_folders", None)
            if watch_folders is None:
                return None  # a command (rclaude): only polling sees its news
            folders |= watch_folders()
        return folders

    def live_pids(self) -> set[int]:
        """The processes of the sessions this host last reported live."""
        return {
            snap.pid
            for snap in self.core.reported.values()
            if snap.status != "ended" and snap.host == self.config.machine_id and snap.pid
        }

    def _views_state(self) -> tuple[dict[str, str], list[SessionObserved], int | None]:
        """Project paths on this host, its live sessions and the views' position
        (and, in ``self.held``, the tasks its ended sessions still hold)."""
        if not self.paths.views_db.exists():
            return {}, [], None
        try:
            conn = open_reader(self.paths.views_db)
        except StorageError:
            return {}, [], None
        try:
            found = queries_sessions.host_sessions(conn, self.config.machine_id)
            self.held = found.held
            return found.project_paths, list(found.live), found.position
        except (ClareError, ValueError):  # views being migrated: next pass
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
                    reply = await self.client.submit(SessionObserve(snapshot=snapshot_dict(snap)))
                    written = reply.get("events") or []
                    seq = int(written[-1]["seq"]) if written else 0
                except ServiceUnavailable:
                    log.info("writer not answering; will retry", session=snap.session)
                    return recorded
                except ClareError as exc:
                    log.warning("snapshot refused", session=snap.session, error=str(exc))
                self.core.recorded(snap, seq)
                recorded += 1
        await self._settle_stale_asks()
        await self.release_leases()
        for folder in (self.paths.spool_dir, self.paths.fallback_spool_dir):
            if spool.pending(folder):
                sent, dropped = await trio.to_thread.run_sync(self._drain_spool, folder)
                if sent or dropped:
                    log.info("hook spool replayed", sent=sent, dropped=dropped, spool=str(folder))
        # Saving serialises every follower: only worth it when something moved.
        if recorded or read or time.monotonic() - self._saved_at > SAVE_EVERY_S:
            await trio.to_thread.run_sync(self.save)
        return recorded

    def _stale_asks(self) -> dict[str, list[str]]:
        if not self.paths.views_db.exists():
            return {}
        try:
            conn = open_reader(self.paths.views_db)
        except StorageError:
            return {}
        try:
            with reading("this host's pending asks"):
                return stale_asks_in(
                    conn,
                    self.config.machine_id,
                    int(time.time() * 1000),
                    self.config.decision_wait_s,
                )
        except ClareError:  # views being migrated: next pass
            return {}
        finally:
            conn.close()

    async def _settle_stale_asks(self) -> None:
        """Settle this host's asks that no hook waits for any more (see clare.app.decisions)."""
        stale = await trio.to_thread.run_sync(self._stale_asks)
        for how, decisions in stale.items():
            try:
                reply = await self.client.submit(
                    DecisionSettle(decisions=tuple(decisions), how=how, at=int(time.time() * 1000))
                )
            except ClareError as exc:
                log.info("stale asks not settled; will retry", error=str(exc))
                return
            log.info("stale asks settled", how=how, settled=reply.get("settled", []))

    async def release_leases(self) -> int:
        """Give back the tasks this host's ended sessions still hold; returns how many.

        The views may lag behind the writer: ``task.release`` checks each task
        against current state, so a task released already is left alone.
        """
        released = 0
        for session, tasks in self.held.items():
            try:
                reply = await self.client.submit(
                    TaskRelease(session=session, candidates=tuple(tasks))
                )
            except ServiceUnavailable:
                return released
            except ClareError as exc:
                log.warning("lease release refused", session=session, error=str(exc))
                continue
            done = reply.get("released") or []
            if done:
                log.info("tasks released", session=session, tasks=done)
            released += len(done)
        self.held = {}
        return released

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


async def first_of(*waits: Callable[[], Awaitable[None]]) -> None:
    """Return as soon as one of ``waits`` returns; the others are cancelled."""
    async with trio.open_nursery() as nursery:

        async def one(wait: Callable[[], Awaitable[None]]) -> None:
            await wait()
            nursery.cancel_scope.cancel()

        for wait in waits:
            nursery.start_soon(one, wait)


async def serve_poller(
    paths: InstancePaths,
    config: Config,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    rescan_s: float = RESCAN_S,
    inotify: bool = True,
    sources: list[SessionSource] | None = None,
    task_status: trio.TaskStatus[Poller] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Keep this host's sessions current until cancelled.

    A pass runs when a watched folder changes (``file_watch``), else every
    ``rescan_s``; without inotify, or with a source that has no files to
    watch, every ``interval_s``.
    """
    client = AsyncCommandClient(Endpoints(paths).writer_commands, timeout_s=2.0, attempts=2)
    dispatch_client = AsyncCommandClient(
        Endpoints(paths).writer_commands, timeout_s=2.0, attempts=2
    )
    poller = Poller(
        paths, config, client, make_sources(config, paths) if sources is None else sources
    )
    watch = open_watch(interval_s, inotify=inotify and poller.watch_folders() is not None)
    exits = ExitWatch(interval_s)
    for own in (paths.spool_dir, paths.fallback_spool_dir, hooked_dir(paths.data_dir)):
        # Made now, so they are watched themselves: a missing folder is watched through
        # its parent, and the data folder changes at every commit.
        with contextlib.suppress(OSError):
            own.mkdir(parents=True, exist_ok=True)
    try:
        log.info(
            "poller ready",
            sources=[s.name for s in poller.sources],
            watching=isinstance(watch, InotifyWatch),
        )
        async with trio.open_nursery() as nursery:
            # Push notifications in a task of their own: a slow service never delays a pass.
            nursery.start_soon(partial(serve_push, paths, config))
            # The dispatcher has its own client: one DEALER per task that waits on it.
            nursery.start_soon(serve_dispatcher, paths, config, dispatch_client)
            task_status.started(poller)
            while True:
                started = trio.current_time()
                try:
                    await poller.run_pass()
                except OSError as exc:  # a full disk for the state file: keep polling
                    log.warning("poll pass failed", error=str(exc))
                watch.watch(poller.watch_folders() or ())
                exits.watch(poller.live_pids())
                with trio.move_on_after(rescan_s):
                    await first_of(watch.changed, exits.exited)
                    await trio.sleep_until(max(trio.current_time() + SETTLE_S, started + MIN_GAP_S))
                    watch.drain()
    finally:
        client.close()
        dispatch_client.close()
        watch.close()
        exits.close()
