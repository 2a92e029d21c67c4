"""The dispatcher: this host's hand on Claude Code for dispatch requests.

It runs inside the poller node, beside the loop that finds this host's
sessions: the poller is already the process that watches Claude Code here, it
is the one that sees a dispatched session appear (which binds it to its
task), and one process per host acting on Claude Code keeps "who acts" plain.

Each round reads the views for requests aimed at this host and moves each on:

- ``requested``: ask the writer to accept it (``dispatch.accept``, with this
  host's own refusal if any: dispatch off, no folder, at capacity). Only a
  reply saying this call accepted it leads to acting, and the acceptance is on
  disk by then. So a request seen twice, after a restart or after a partition
  healed is never acted on twice.
- ``accepted`` (start): run ``claude --bg`` in the project's folder and record
  the job id (``dispatch.launched``) or the failure (``dispatch.refuse``).
  A request shown accepted that this run did not accept was accepted by a run
  that died before recording what it did: it is refused as interrupted, not
  launched again (at most once). One this run acted on whose record the writer
  did not take gets the record sent again, never the act.
- ``accepted`` (stop): ``claude stop JOB`` for a background session, SIGINT to
  the process for the others; then ``dispatch.stopped``.
- ``launched``: once the poller has seen the job's session, ``dispatch.started``
  binds it and assigns the task; after ``APPEAR_TIMEOUT_S`` without it, refuse.
"""

from __future__ import annotations

import os
import signal
import time
from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.app import dispatch as service
from clare.bus.endpoints import DISPATCH_TOPIC, SUB_HWM, Endpoints
from clare.bus.zsock import open_socket
from clare.core.errors import ClareError, ServiceUnavailable, StorageError
from clare.domain.commands import (
    DispatchAccept,
    DispatchNoteLaunched,
    DispatchNoteStarted,
    DispatchNoteStopped,
    DispatchOffer,
    DispatchRefuse,
)
from clare.runtime.logs import get
from clare.store import queries_dispatch, queries_sessions
from clare.store.sqlite import open_reader, reading

if TYPE_CHECKING:
    import sqlite3

    from clare.bus.aclient import AsyncCommandClient
    from clare.domain.command import Command
    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

log = get("clare.dispatcher")

DEFAULT_INTERVAL_S = 0.1
#: With nothing on its way, how often a round runs without news from the views.
IDLE_CHECK_S = 30.0
#: How long ``claude --bg`` or ``claude stop`` may take.
COMMAND_TIMEOUT_S = 60.0


class Dispatcher:
    def __init__(self, paths: InstancePaths, config: Config, client: AsyncCommandClient) -> None:
        self.paths = paths
        self.config = config
        self.client = client
        self.launched_at: dict[str, float] = {}
        #: Requests this run accepted that the views still show as requested: they
        #: take a place that ``dispatch_load`` cannot count yet.
        self.accepted_unseen: set[str] = set()
        #: Requests this run accepted and has not settled yet, and for each the
        #: record of what it did (op, args) when acting is done but the writer did
        #: not take the record: it is sent again, never the act.
        self.unsettled: dict[str, Command | None] = {}
        #: Every request this run accepted, until the views show it past accepted.
        self.mine: set[str] = set()
        #: Requests for this host the last round saw on their way.
        self.pending = 0

    def _read(self) -> tuple[list[dict[str, Any]], sqlite3.Connection | None]:
        if not self.paths.views_db.exists():
            return [], None
        try:
            conn = open_reader(self.paths.views_db)
        except StorageError:
            return [], None
        try:
            with reading("this host's dispatch requests"):
                found = queries_dispatch.list_dispatches(
                    conn,
                    machine_id=self.config.machine_id,
                    states=("requested", "accepted", "launched"),
                )
        except StorageError:  # views being migrated or rebuilt: next round
            conn.close()
            return [], None
        return sorted(found, key=lambda d: str(d["requested_at"])), conn

    async def offer(self) -> None:
        await self.client.submit(
            DispatchOffer(
                enabled=self.config.dispatch_enabled,
                max_sessions=self.config.dispatch_max_sessions,
                permission_mode=self.config.dispatch_permission_mode,
            )
        )

    def busy(self) -> bool:
        """Whether a request is on its way: then rounds run every interval, not on news."""
        return bool(self.pending or self.launched_at or self.unsettled)

    async def run_round(self) -> None:
        pending, conn = await trio.to_thread.run_sync(self._read)
        self.pending = len(pending)
        if conn is None:
            return
        requested = {r["id"] for r in pending if r["state"] == "requested"}
        self.accepted_unseen &= requested
        self.mine &= {r["id"] for r in pending if r["state"] in ("requested", "accepted")}
        try:
            for request in pending:
                try:
                    await self._move_on(request, conn)
                except ServiceUnavailable:
                    return
                except ClareError as exc:
                    log.warning("dispatch step refused", request=request["id"], error=str(exc))
        finally:
            conn.close()

    async def _move_on(self, request: dict[str, Any], conn: sqlite3.Connection) -> None:
        rid = request["id"]
        if request["state"] == "requested":
            if rid in self.accepted_unseen:
                return  # accepted by this run a moment ago: the views lag
            refusal = service.local_refusal(
                self.config, conn, request, extra_load=len(self.accepted_unseen)
            )
            reply = await self.client.submit(
                DispatchAccept(
                    request=rid,
                    now_ms=int(time.time() * 1000),
                    max_age_ms=self.config.dispatch_max_age_s * 1000,
                    refuse=refusal,
                )
            )
            if not reply.get("accepted"):
                if reply.get("reason"):
                    log.info("dispatch refused", request=rid, reason=reply["reason"])
                return
            if request["action"] == "start":
                self.accepted_unseen.add(rid)
            self.unsettled[rid] = None
            self.mine.add(rid)
            try:
                await self._act(request, conn)
            except ServiceUnavailable:
                raise  # the writer is away: the next round settles it (below)
            except (ClareError, OSError) as exc:
                # Accepted and not acted on: settle it now, or it would wait for a restart.
                await self._refuse(rid, f"failed before it started: {exc}")
        elif request["state"] == "accepted":
            await self._settle(rid)
        elif request["state"] == "launched":
            await self._bind(request, conn)

    async def _settle(self, rid: str) -> None:
        """A request the views show accepted: left by a dead run, or by this one."""
        if rid in self.mine and rid not in self.unsettled:
            return  # this run acted and recorded it: the views lag behind
        if rid not in self.unsettled:
            # Not accepted by this run: a run that died accepted it and may or may not
            # have acted. At most once: it is refused, never acted on again.
            await self._refuse(
                rid, "interrupted: the host restarted after accepting; not started again"
            )
            return
        record = self.unsettled[rid]
        if record is None:
            # Acting stopped before it did anything (the writer went away meanwhile).
            await self._refuse(rid, "the writer was unavailable before it started")
        else:
            await self.client.submit(record)  # the act is done: only its record is sent
            self.unsettled.pop(rid, None)

    async def _record(self, rid: str, record: Command) -> None:
        """Record what acting did; kept to send again if the writer does not take it."""
        self.unsettled[rid] = record
        await self.client.submit(record)
        self.unsettled.pop(rid, None)

    async def _act(self, request: dict[str, Any], conn: sqlite3.Connection) -> None:
        if request["action"] == "stop":
            await self._stop(request, conn)
            return
        rid = request["id"]
        folder = service.project_folder(self.config, conn, request["task"])
        events = open_reader(self.paths.events_db)
        try:
            prompt = service.prompt_for(conn, events, request["task"], rid)
        finally:
            events.close()
        argv = service.start_argv(self.config, request["name"], request["worktree"], prompt)
        log.info("starting Claude Code", request=rid, folder=folder, name=request["name"])
        done = await self._run(argv, folder)
        if isinstance(done, str):
            await self._refuse(rid, done)
            return
        job = service.job_id_of(done.stdout.decode("utf-8", "replace"))
        if done.returncode != 0 or not job:
            why = _last_line(done.stderr) or _last_line(done.stdout) or f"exit {done.returncode}"
            await self._refuse(rid, f"claude --bg failed: {why}")
            return
        self.launched_at[rid] = time.monotonic()
        await self._record(rid, DispatchNoteLaunched(request=rid, job_id=job))

    async def _run(self, argv: list[str], cwd: str) -> Any:
        """The finished process, or why it could not run."""
        try:
            with trio.fail_after(COMMAND_TIMEOUT_S):
                return await trio.run_process(
                    argv,
                    cwd=cwd or None,
                    env=service.claude_env(self.config),
                    stdin=b"",
                    capture_stdout=True,
                    capture_stderr=True,
                    check=False,
                )
        except OSError as exc:
            return f"cannot run {argv[0]}: {exc.strerror or exc}"
        except trio.TooSlowError:
            return f"{argv[0]} {argv[1]} did not finish in {COMMAND_TIMEOUT_S:.0f} s"

    async def _stop(self, request: dict[str, Any], conn: sqlite3.Connection) -> None:
        rid = request["id"]
        found = queries_sessions.session_process(conn, request["session"])
        if found is not None and found.kind == "bg" and found.job_id:
            done = await self._run(service.stop_argv(self.config, found.job_id), "")
            if isinstance(done, str) or done.returncode != 0:
                why = done if isinstance(done, str) else _last_line(done.stderr)
                await self._refuse(rid, f"claude stop failed: {why}")
                return
            how = f"claude stop {found.job_id}"
        else:
            pid = found.pid if found is not None else 0
            if pid <= 0 or not _is_claude(pid):
                await self._refuse(rid, "its process is not running on this host")
                return
            os.kill(pid, signal.SIGINT)
            how = f"SIGINT to process {pid}"
        await self._record(rid, DispatchNoteStopped(request=rid, how=how))

    async def _bind(self, request: dict[str, Any], conn: sqlite3.Connection) -> None:
        rid = request["id"]
        session = queries_dispatch.session_of_job(
            conn, self.config.machine_id, request["job_id"] or ""
        )
        if session is not None:
            await self.client.submit(DispatchNoteStarted(request=rid, session=session))
            self.launched_at.pop(rid, None)
            return
        since = self.launched_at.setdefault(rid, time.monotonic())
        if time.monotonic() - since > service.APPEAR_TIMEOUT_S:
            self.launched_at.pop(rid, None)
            await self._refuse(
                rid,
                f"job {request['job_id']} showed no session in {service.APPEAR_TIMEOUT_S:.0f} s",
            )

    async def _refuse(self, rid: str, reason: str) -> None:
        log.warning("dispatch failed", request=rid, reason=reason)
        await self.client.submit(DispatchRefuse(request=rid, reason=reason[:500]))
        self.unsettled.pop(rid, None)


def _last_line(data: bytes) -> str:
    lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _is_claude(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"claude" in f.read()
    except OSError:
        return False


async def serve_dispatcher(
    paths: InstancePaths,
    config: Config,
    client: AsyncCommandClient,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    task_status: trio.TaskStatus[Dispatcher] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Publish this host's offer, then move dispatch requests on until cancelled."""
    dispatcher = Dispatcher(paths, config, client)
    task_status.started(dispatcher)
    while True:
        try:
            await dispatcher.offer()
            break
        except ClareError as exc:  # the writer is not up yet
            log.info("dispatch offer not recorded yet", error=str(exc))
            await trio.sleep(1.0)
    # Rounds run when the projector says dispatch requests changed (one may have
    # come: ``DISPATCH_TOPIC``), every ``interval_s`` while a request is on its
    # way, and otherwise only every IDLE_CHECK_S in case a notice was lost: an
    # idle host reads nothing, and the commits of other entities never wake it.
    async with open_socket(
        zmq.SUB,
        connect=[Endpoints(paths).projector_views],
        options={zmq.SUBSCRIBE: DISPATCH_TOPIC, zmq.RCVHWM: SUB_HWM},
    ) as views:
        while True:
            started = trio.current_time()
            try:
                await dispatcher.run_round()
            except (OSError, StorageError) as exc:
                log.warning("dispatch round failed", error=str(exc))
            with trio.move_on_after(interval_s if dispatcher.busy() else IDLE_CHECK_S):
                await views.recv()
            views.recv_waiting(SUB_HWM)  # one round covers every notice so far
            await trio.sleep_until(started + interval_s)
