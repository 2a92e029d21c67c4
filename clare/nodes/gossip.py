"""The gossip node: the I/O shell of the sync core (docs/sync-protocol.md).

One task owns the :class:`~clare.sync.node.SyncNode`: every input (a peer's
frame, a committed event, the answer of a read or an ingest, a timer, a
change of peers) reaches it as a *job* on one bounded channel, a function
the owner applies to the node at the current time. The actions that come
back are carried out without waiting: a frame goes to the peer's outbox (a
full outbox drops it, the protocol repairs), a read or an ingest becomes a
task of its own that reports back with another job. So the node is never
touched from two places, and nothing the owner does can block it.

Around it: the transport (:mod:`clare.nodes.gossip_transport`), the writer's PUB as
a doorbell (a gap or a quiet spell is filled from SQLite, invariant 5), the
writer's ``ingest`` command for remote batches, ``clare.toml`` watched for
peer changes, and a control socket for ``clare sync status`` and ``now``.
"""

from __future__ import annotations

import functools
import math
import os
import random
import time
from collections import deque
from collections.abc import Callable
from contextlib import closing
from typing import TYPE_CHECKING, Any

import trio
import zmq

from clare.bus.aclient import AsyncCommandClient, wait_until_up
from clare.bus.control import serve_control
from clare.bus.endpoints import GOSSIP_CONTROL, SUB_HWM, Endpoints
from clare.bus.zsock import open_socket
from clare.core.errors import ClareError, UsageError
from clare.core.hlc import wall_ms
from clare.domain.fleet import FLEET_ENTITY
from clare.nodes.file_watch import open_watch
from clare.nodes.gossip_bus import follow_writer, open_client_pool
from clare.nodes.gossip_join import JoinDesk
from clare.nodes.gossip_log import SqliteLog, ingest_args, read_slot_conflicts
from clare.nodes.gossip_members import Membership
from clare.nodes.gossip_transport import (
    bind_endpoint,
    open_context,
    serve_inbound,
    serve_outbound,
    serve_zap,
)
from clare.runtime import config as config_mod
from clare.runtime.keys import ensure_keypair
from clare.runtime.logs import get
from clare.store import eventlog
from clare.sync import status as status_mod
from clare.sync.actions import Action, Ingest, Notice, PeerDown, PeerUp, ReadEvents, Send
from clare.sync.messages import Advert, encode
from clare.sync.node import SyncNode
from clare.sync.peers import AllowList, changes

if TYPE_CHECKING:
    from clare.bus import rpc
    from clare.core.events import Event
    from clare.runtime.config import Config, Peer
    from clare.runtime.keys import KeyPair
    from clare.runtime.paths import InstancePaths
    from clare.sync.config import SyncConfig

log = get("clare.gossip")

#: Work for the task that owns the core: apply me at this monotonic time (ms).
Job = Callable[[int], list[Action]]

INBOX = 1024
OUTBOX = 64
INGEST_CLIENTS = 4
CONFIG_CHECK_S = 1.0
#: How often a host with no open invitation checks whether one has expired meanwhile.
GUEST_CHECK_S = 60.0
NOW_TIMEOUT_S = 8.0
NOTICES_KEPT = 50


def _now_ms() -> int:
    return int(trio.current_time() * 1000)


class Gossip:
    """The shell's state: the core, the peers' outboxes, the store, the counters."""

    def __init__(
        self,
        paths: InstancePaths,
        config: Config,
        keys: KeyPair,
        node: SyncNode,
        store: SqliteLog,
        nursery: trio.Nursery,
        ctx: zmq.Context[Any],
        clients: trio.MemoryReceiveChannel[AsyncCommandClient],
        returns: trio.MemorySendChannel[AsyncCommandClient],
    ) -> None:
        self.paths = paths
        self.config = config
        self.keys = keys
        self.node = node
        self.store = store
        self.nursery = nursery
        self.ctx = ctx
        self.allow = AllowList(config.peers)
        self.membership = Membership(config, keys.public)
        self.peers: dict[str, Peer] = {}
        self._outboxes: dict[str, tuple[trio.MemorySendChannel[bytes], trio.CancelScope]] = {}
        self.frames_dropped: dict[str, int] = {}
        self.handshake_failures: dict[str, int] = {}
        self.counters = {
            "ingest_failures": 0,
            "read_failures": 0,
            "refused_connections": 0,
            "joins_refused": 0,
            "frames_from_removed": 0,
        }
        self.notices: deque[status_mod.NoticeRecord] = deque(maxlen=NOTICES_KEPT)
        self._send_job, self._jobs = trio.open_memory_channel[Job](INBOX)
        self._clients, self._returns = clients, returns
        self._db = trio.CapacityLimiter(1)  # one SQLite reader connection, one thread at a time
        self.joins = JoinDesk(
            own_key=keys.public,
            own_origin=config.machine_id,
            own_name=config.name,
            call=self._call_writer,
            refused=self._join_refused,
        )

    # -- the owner ----------------------------------------------------------

    async def submit(self, job: Job) -> None:
        await self._send_job.send(job)

    async def run(self) -> None:
        """Own the node: apply jobs as they come and run its timers. Never returns."""
        while True:
            deadline = self.node.next_deadline_ms()
            # No peer, no deadline: nothing to do until a job comes.
            wait_s = max(0.0, (deadline - _now_ms()) / 1000) if deadline is not None else math.inf
            with trio.move_on_after(wait_s):
                job = await self._jobs.receive()
                self.perform(job(_now_ms()))
                # Take what else is waiting before looking at the timers again.
                for _ in range(INBOX):
                    try:
                        job = self._jobs.receive_nowait()
                    except trio.WouldBlock:
                        break
                    self.perform(job(_now_ms()))
            deadline = self.node.next_deadline_ms()
            if deadline is not None and _now_ms() >= deadline:
                self.perform(self.node.tick(_now_ms()))

    def perform(self, actions: list[Action]) -> None:
        """Carry out the core's actions; none of them waits."""
        for action in actions:
            match action:
                case Send(peer, message):
                    self._send(peer, encode(message))
                case ReadEvents():
                    self.nursery.start_soon(self._read, action)
                case Ingest():
                    self.nursery.start_soon(self._ingest, action)
                case PeerUp(peer):
                    log.info("peer up", peer=peer)
                case PeerDown(peer):
                    log.info("peer down", peer=peer)
                case Notice(peer, code, detail):
                    self.notices.append(status_mod.NoticeRecord.of(action, time.time()))
                    log.warning("sync notice", peer=peer, code=code, detail=detail)

    def _send(self, peer: str, frame: bytes) -> None:
        outbox = self._outboxes.get(peer)
        if outbox is None:
            return
        try:
            outbox[0].send_nowait(frame)
        except trio.WouldBlock:
            # The peer is unreachable or slow; what is lost is asked again later.
            self.frames_dropped[peer] = self.frames_dropped.get(peer, 0) + 1

    # -- store work -----------------------------------------------------------

    async def _read(self, action: ReadEvents) -> None:
        try:
            events = await trio.to_thread.run_sync(
                self.store.read,
                action.ranges,
                action.max_events,
                action.max_bytes,
                limiter=self._db,
            )
        except ClareError as exc:
            self.counters["read_failures"] += 1
            log.error("read for a peer failed", peer=action.peer, error=str(exc))
            await self.submit(lambda now: self.node.read_failed(action.token, now))
            return
        await self.submit(lambda now: self.node.events_read(action.token, events, now))

    async def _ingest(self, action: Ingest) -> None:
        client = await self._clients.receive()
        try:
            reply = await client.call("ingest", ingest_args(action.events, action.peer))
            result = await trio.to_thread.run_sync(
                self.store.result_of, action.events, reply, limiter=self._db
            )
        except ClareError as exc:
            self.counters["ingest_failures"] += 1
            log.error("ingest failed", peer=action.peer, events=len(action.events), error=str(exc))
            await self.submit(lambda now: self.node.ingest_failed(action.token, now))
            return
        finally:
            self._returns.send_nowait(client)
        await self.submit(lambda now: self.node.ingested(action.token, result, now))

    # -- peers ------------------------------------------------------------------

    def set_peers(self, peers: tuple[Peer, ...], now_ms: int) -> list[Action]:
        """Go to this peer table: links dropped and started as needed (a job)."""
        dropped, started = changes(list(self.peers.values()), peers)
        self.allow.update(self.membership.allowed(peers), self.membership.banned())
        self.allow.guests = self.membership.guests_open(time.time_ns() // 1_000_000)
        actions: list[Action] = []
        for peer in dropped:
            self.peers.pop(peer.name, None)
            send, scope = self._outboxes.pop(peer.name)
            send.close()
            scope.cancel()
            actions += self.node.remove_peer(peer.name)
            log.info("peer removed", peer=peer.name)
        for peer in started:
            self.peers[peer.name] = peer
            send, frames = trio.open_memory_channel[bytes](OUTBOX)
            scope = trio.CancelScope()
            self._outboxes[peer.name] = (send, scope)
            self.nursery.start_soon(self._outbound, peer, frames, scope)
            actions += self.node.add_peer(peer.name, now_ms)
            log.info("peer added", peer=peer.name, endpoint=peer.endpoint)
        return actions

    async def _outbound(
        self, peer: Peer, frames: trio.MemoryReceiveChannel[bytes], scope: trio.CancelScope
    ) -> None:
        with scope:
            try:
                await serve_outbound(
                    self.ctx,
                    peer.endpoint,
                    peer.key,
                    self.keys,
                    frames,
                    on_refused=functools.partial(self._handshake_failed, peer.name),
                )
            except ClareError as exc:
                log.error("cannot reach peer", peer=peer.name, error=str(exc))

    def _handshake_failed(self, peer: str, reason: str) -> None:
        self.handshake_failures[peer] = self.handshake_failures.get(peer, 0) + 1
        if (
            self.handshake_failures[peer] in (1, 10, 100)
            or self.handshake_failures[peer] % 1000 == 0
        ):
            log.warning(
                "cannot connect to peer",
                peer=peer,
                reason=reason,
                failures=self.handshake_failures[peer],
            )

    async def committed(self, events: list[Event]) -> None:
        await self.submit(functools.partial(self.node.local_committed, events))
        if self.membership.fold(events):
            # Joins and removals change whom we link to and whom ZAP lets in, at once.
            peers = self.membership.peers(self.config.peers)
            await self.submit(lambda now: self.set_peers(peers, now))

    async def deliver(self, peer: str, frame: bytes) -> bytes | None:
        if peer.startswith(self.allow.guest_prefix):
            key = peer.removeprefix(self.allow.guest_prefix)
            member = self.allow.name_of(key)
            if member is None:
                return await self.joins.answer(key, frame)
            # A new member's node can connect in the moment between its join being
            # recorded here and ZAP learning of it: ZAP let it in as a guest, and the
            # connection keeps that name. The key is a member's now: so are its frames.
            peer = member
        if peer not in self.peers and not self.allow.allows_name(peer):
            # A connection made before its key was removed: ZAP vetted it then, so
            # what it sends now is dropped here, unread.
            self.counters["frames_from_removed"] += 1
            return None
        await self.submit(lambda now: self.node.receive_frame(peer, frame, now))
        return None

    async def _call_writer(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        client = await self._clients.receive()
        try:
            return await client.call(op, args)
        finally:
            self._returns.send_nowait(client)

    def _join_refused(self, guest: str, why: str) -> None:
        self.counters["joins_refused"] += 1
        self.notices.append(
            status_mod.NoticeRecord(
                time.time(), self.allow.guest_prefix + guest[:8], "join_refused", why
            )
        )

    def refused(self, address: str, key: str) -> None:
        self.counters["refused_connections"] += 1

    async def watch_config(self) -> None:
        """Apply peer changes in ``clare.toml`` without a restart.

        Woken by a change in its folder (inotify), so a host that nobody edits
        costs nothing; where inotify is missing, its mtime is checked every
        ``CONFIG_CHECK_S``. Invitations expire with time alone, and guests are
        let in only while one is open: while one is, it wakes every
        ``CONFIG_CHECK_S``, else every ``GUEST_CHECK_S`` (an invitation opened
        meanwhile opens the door at once, in ``set_peers``; the writer refuses an
        expired token whatever the door says).
        """
        watch = open_watch(CONFIG_CHECK_S)
        try:
            watch.watch([self.paths.config_file.parent])
            seen = _stamp(self.paths)
            while True:
                now_ms = time.time_ns() // 1_000_000
                self.allow.guests = self.membership.guests_open(now_ms)
                with trio.move_on_after(CONFIG_CHECK_S if self.allow.guests else GUEST_CHECK_S):
                    await watch.changed()
                if (stamp := _stamp(self.paths)) != seen:
                    seen = stamp
                    await self.reload()
        finally:
            watch.close()

    async def reload(self) -> int:
        try:
            config = config_mod.load(self.paths)
        except ClareError as exc:
            log.error("clare.toml unreadable; keeping the peers we have", error=str(exc))
            return len(self.peers)
        self.config = config
        self.membership.config = config
        peers = self.membership.peers(config.peers)
        await self.submit(lambda now: self.set_peers(peers, now))
        return len(peers)

    # -- control ----------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        count, recent = read_slot_conflicts(self.paths.events_db)
        return status_mod.report(
            slot_conflict_count=count,
            slot_conflicts=recent,
            origin=self.config.machine_id,
            name=self.config.name,
            port=self.config.gossip_port,
            bind=bind_endpoint(self.config.gossip_bind, self.config.gossip_port),
            public_key=self.keys.public,
            vector=self.node.vector,
            statuses=self.node.status(),
            peers=self.peers,
            members={
                **self.membership.report(),
                # The invitations a guest may present now: the door is open for them.
                "open_invites": (
                    self.membership.open_invite_ids(_now_ms()) if self.allow.guests else []
                ),
            },
            frames_dropped=self.frames_dropped,
            refusals=self.allow.refusals.values(),
            notices=list(self.notices),
            counters={**self.counters, "pid": os.getpid()},
            now_ms=_now_ms(),
            wall_s=time.time(),
        )

    async def sync_now(self, timeout_s: float) -> dict[str, Any]:
        """One round with every peer: our vector to each now, then wait until nothing lacks."""
        before = {
            s.name: (s.stats.events_received, s.stats.events_sent) for s in self.node.status()
        }

        def round_now(now: int) -> list[Action]:
            adverts: list[Action] = [
                Send(s.name, Advert(self.node.vector)) for s in self.node.status() if s.up
            ]
            return adverts + self.node.tick(now)

        await self.submit(round_now)
        settled = False
        with trio.move_on_after(timeout_s):
            await trio.sleep(0.2)  # let peers answer before judging
            # The core's state has no event to wait on: poll it.
            while not (settled := _settled(self.node)):  # noqa: ASYNC110
                await trio.sleep(0.05)
        moved = []
        for s in self.node.status():
            received, sent = before.get(s.name, (0, 0))
            moved.append(
                {
                    "name": s.name,
                    "connected": s.up,
                    "received": s.stats.events_received - received,
                    "sent": s.stats.events_sent - sent,
                    "we_lack": s.we_lack,
                    "they_lack": s.they_lack,
                }
            )
        return {
            "settled": settled,
            "peers": sorted(moved, key=lambda m: str(m["name"])),
            "slot_conflicts": read_slot_conflicts(self.paths.events_db)[0],
        }

    async def control(self, request: rpc.Request) -> dict[str, Any]:
        if request.op == "status":
            return self.status()
        if request.op == "now":
            timeout = request.args.get("timeout_s", NOW_TIMEOUT_S)
            if not isinstance(timeout, int | float) or not 0 < timeout <= 60:
                raise UsageError("timeout_s must be a number of seconds from 0 to 60")
            return await self.sync_now(float(timeout))
        if request.op == "reload":
            return {"peers": await self.reload()}
        raise UsageError(f"the gossip node does not know {request.op!r}")


def _settled(node: SyncNode) -> bool:
    return all(
        not s.up or (s.outstanding_requests == 0 and s.we_lack == 0 and s.they_lack == 0)
        for s in node.status()
    )


def _stamp(paths: InstancePaths) -> tuple[int, int] | None:
    try:
        st = paths.config_file.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


async def serve_gossip(
    paths: InstancePaths,
    config: Config,
    *,
    sync_config: SyncConfig | None = None,
    task_status: trio.TaskStatus[Gossip] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Sync this host's events with its peers until cancelled (the writer must be up)."""
    keys, made = ensure_keypair(paths)
    if made:
        log.info("key pair made", public_key=keys.public)
    endpoints = Endpoints(paths)
    paths.ensure_runtime_dir()
    probe = AsyncCommandClient(endpoints.writer_commands, timeout_s=1.0, attempts=1)
    try:
        await wait_until_up(probe)  # the events DB exists once the writer answers
    finally:
        probe.close()
    # The context and the connections outlive the nursery: its tasks use them to the end.
    with (
        open_context() as ctx,
        closing(eventlog.open_events_reader(paths.events_db)) as reader,
        closing(eventlog.open_events_reader(paths.events_db)) as tail,
    ):
        async with (
            open_client_pool(endpoints.writer_commands, INGEST_CLIENTS) as (clients, returns),
            open_socket(
                zmq.SUB,
                connect=[endpoints.writer_events],
                options={zmq.SUBSCRIBE: b"ev.", zmq.RCVHWM: SUB_HWM},
            ) as sub,
            trio.open_nursery() as nursery,
        ):
            # Subscribed before reading where the store is, so nothing falls in between.
            store = SqliteLog(reader)
            position = eventlog.last_seq(tail)
            node = SyncNode(
                config.machine_id,
                store.vector(),
                rng=random.Random().random,
                config=sync_config,
                wall_ms=wall_ms,
            )
            gossip = Gossip(paths, config, keys, node, store, nursery, ctx, clients, returns)
            gossip.membership.fold(eventlog.entity_events(reader, FLEET_ENTITY))
            await nursery.start(
                functools.partial(serve_zap, on_refused=gossip.refused), ctx, gossip.allow
            )
            bound = await nursery.start(
                functools.partial(serve_inbound, host=config.gossip_bind),
                ctx,
                config.gossip_port,
                keys,
                node.config.max_frame_bytes,
                gossip.deliver,
            )
            gossip.perform(gossip.set_peers(gossip.membership.peers(config.peers), _now_ms()))
            nursery.start_soon(gossip.run)
            nursery.start_soon(
                functools.partial(
                    follow_writer,
                    sub,
                    tail,
                    position,
                    gossip.committed,
                    unhurried=lambda: not gossip.peers,
                )
            )
            nursery.start_soon(gossip.watch_config)
            await nursery.start(serve_control, endpoints.ipc(GOSSIP_CONTROL), gossip.control)
            log.info("gossip ready", endpoint=bound, peers=len(config.peers), key=keys.public)
            task_status.started(gossip)
