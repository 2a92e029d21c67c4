"""The sync core of one host: messages and reports in, actions out.

Strategy. Every host advertises its version vector to each peer (on connect
and every anti-entropy round). A host that sees a peer hold ranges it lacks
*pulls* them: it cuts the missing ranges into requests of at most one batch
each and keeps at most ``window`` of them open per peer, counting batches the
writer is still ingesting. A request is a credit: the server sends exactly
one bounded batch per request, so the receiver decides how much it holds in
memory, and a host catching up on a million events from one peer still
leaves that peer's other links (and the writer) room to breathe. Ranges
asked of one peer are *claimed* until their batch is ingested or given up, so
no two peers are asked for the same events.

Fresh local events are pushed to every peer at once, and events that were new
to us are relayed the same way to the other peers. Pushes are best effort: a
receiver with a full ingest window drops them, a lost one is repaired by the
next round's pull. Events land in the store even above a gap in their
origin's seqs; the vector only counts the contiguous prefix, so the gap is
still pulled (see :mod:`clare.sync.vector`).

Events refused because their stamp is too far in our future are not held:
their origin is left alone for ``reject_backoff_ms``, then pulled again, and
accepted once our clock has caught up with their stamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING

from clare.core.errors import ProtocolError
from clare.sync.actions import Action, Ingest, Notice, PeerDown, PeerUp, Send
from clare.sync.batches import check_batch, request_size, served_to, split
from clare.sync.config import SyncConfig
from clare.sync.messages import (
    MAX_RANGES,
    Advert,
    Batch,
    Error,
    Heartbeat,
    Hello,
    Message,
    Push,
    Request,
    decode,
)
from clare.sync.peer import PeerLink, PeerStatus, Pending
from clare.sync.serve import Server
from clare.sync.vector import Range, SeqSet, chunks, count, subtract

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from clare.core.events import Event
    from clare.sync.log import IngestResult


@dataclass(frozen=True, slots=True)
class _IngestJob:
    peer: str
    claim: int  # key of the ranges it holds in SyncNode._claims
    push: bool


class SyncNode:
    """Sans-I/O sync for one host. Not thread-safe: one task drives it.

    ``vector`` is the store's vector at start; ``rng`` returns floats in
    [0, 1) and only jitters timers. Every method that takes ``now_ms`` wants a
    monotonic time in milliseconds; it never needs to be wall-clock time.
    """

    def __init__(
        self,
        origin: str,
        vector: Mapping[str, int],
        *,
        rng: Callable[[], float],
        config: SyncConfig | None = None,
        wall_ms: Callable[[], int] | None = None,
    ) -> None:
        self.origin = origin
        # Wall-clock time, only to tell peers ours and see how far theirs is off
        # (the clock offset `clare doctor` reports). Timers never use it.
        self._wall_ms = wall_ms
        self.config = config or SyncConfig()
        self._rng = rng
        self._have = SeqSet(vector)
        self._links: dict[str, PeerLink] = {}
        # Start ids at a random point so a batch meant for an earlier
        # incarnation of this node is unlikely to match a request of this one.
        self._next_token = int(rng() * (1 << 40)) + 1
        self._claims: dict[int, tuple[Range, ...]] = {}  # request id or push token -> ranges
        self._ingests: dict[int, _IngestJob] = {}
        self._server = Server(self.config, self._token)
        self._deferred_until: dict[str, int] = {}  # origin -> time to pull it again
        # origin -> the last seq we still take of it: a removed host's later events were
        # refused, so neither asked for again nor passed on (docs: "A fleet by invitation").
        self._cut: dict[str, int] = {}
        self._rotation = 0

    def _advert(self) -> Advert:
        return Advert(self.vector, self._wall_ms() if self._wall_ms is not None else 0)

    # -- what the shell reads ---------------------------------------------

    @property
    def vector(self) -> dict[str, int]:
        """What we advertise: the contiguous prefix of each origin we know is stored."""
        return self._have.vector()

    def peers(self) -> list[str]:
        return sorted(self._links)

    def status(self) -> list[PeerStatus]:
        """One snapshot per peer, for ``clare sync status``."""
        have = self._have.vector()
        return [
            link.status(
                we_lack=count(self._clip(self._have.lacking(link.known))),
                they_lack=count(self._clip(SeqSet(link.known).lacking(have))),
            )
            for link in self._links.values()
        ]

    def next_deadline_ms(self) -> int | None:
        """When :meth:`tick` next has work; None if there are no peers."""
        times = [link.deadline_ms() for link in self._links.values()]
        if not times:
            return None
        times.extend(self._deferred_until.values())
        return min(times)

    # -- peers ------------------------------------------------------------

    def add_peer(self, name: str, now_ms: int) -> list[Action]:
        """Start a link (idempotent); it is up once the peer answers our Hello."""
        if name in self._links:
            return []
        link = PeerLink(name, self.config, self._rng, now_ms)
        self._links[name] = link
        return [self._send(link, Hello(self.origin, self.vector), now_ms)]

    def remove_peer(self, name: str) -> list[Action]:
        link = self._links.pop(name, None)
        if link is None:
            return []
        self._release(link.reset())
        return [PeerDown(name)] if link.up else []

    # -- input ------------------------------------------------------------

    def receive_frame(self, peer: str, frame: bytes, now_ms: int) -> list[Action]:
        """Decode a frame from ``peer`` and handle it; a bad frame costs the peer an Error."""
        try:
            message = decode(frame, max_frame_bytes=self.config.max_frame_bytes)
        except ProtocolError as exc:
            link = self._links.get(peer)
            if link is None:
                return [Notice(peer, "unknown_peer", "frame from a peer we do not know")]
            return self._protocol_error(link, exc.code, str(exc), now_ms)
        return self.receive(peer, message, now_ms)

    def receive(self, peer: str, message: Message, now_ms: int) -> list[Action]:
        """Handle one decoded message from ``peer``."""
        link = self._links.get(peer)
        if link is None:
            return [Notice(peer, "unknown_peer", f"{message.TYPE} from a peer we do not know")]
        actions: list[Action] = []
        if link.heard(now_ms):
            actions.append(PeerUp(peer))
            if not isinstance(message, Hello):
                actions.append(self._send(link, self._advert(), now_ms))
        match message:
            case Hello():
                # A Hello starts a session: whatever the peer was doing for us is lost.
                self._release(link.reset())
                link.origin = message.node_id
                link.known = dict(message.vector)
                actions.append(self._send(link, self._advert(), now_ms))
                actions += self._plan_all(now_ms)
            case Advert():
                link.known = dict(message.vector)
                if message.wall_ms and self._wall_ms is not None:
                    # One way, so it includes the link's latency: on a LAN, a few ms.
                    link.clock_offset_ms = message.wall_ms - self._wall_ms()
                actions += self._plan_all(now_ms)
            case Request():
                actions += self._server.request(link, message)
            case Batch():
                actions += self._on_batch(link, message, now_ms)
            case Push():
                actions += self._on_push(link, message, now_ms)
            case Heartbeat():
                pass
            case Error():
                link.stats.errors_received += 1
                link.stats.last_error = f"{message.code}: {message.message}"
                actions.append(Notice(peer, "peer_error", link.stats.last_error))
        return actions

    def tick(self, now_ms: int) -> list[Action]:
        """Run the timers: timeouts, heartbeats, probes, anti-entropy rounds."""
        actions: list[Action] = []
        for origin in [o for o, t in self._deferred_until.items() if t <= now_ms]:
            del self._deferred_until[origin]
        for link in list(self._links.values()):
            if link.silent_too_long(now_ms):
                self._release(link.go_down())
                actions.append(PeerDown(link.name))
            self._release(link.expired(now_ms))
            if link.up and now_ms >= link.next_round_ms:
                link.schedule_round(now_ms)
                actions.append(self._send(link, self._advert(), now_ms))
            if now_ms - link.last_sent_ms >= self.config.heartbeat_interval_ms:
                probe: Message = Heartbeat() if link.up else Hello(self.origin, self.vector)
                actions.append(self._send(link, probe, now_ms))
        return actions + self._plan_all(now_ms)

    def local_committed(self, events: Iterable[Event], now_ms: int) -> list[Action]:
        """The writer committed these events (from its PUB): push our own ones at once."""
        own: list[Event] = []
        for event in events:
            self._have.add(event.origin, event.origin_seq)
            if event.origin == self.origin:
                own.append(event)
        return self._push(own, None, now_ms)

    # -- reports from the shell -------------------------------------------

    def events_read(self, token: int, events: Sequence[Event], now_ms: int) -> list[Action]:
        """The store read a ReadEvents action's ranges: answer the peer's request."""
        return self._answer(token, events, False, now_ms)

    def read_failed(self, token: int, now_ms: int) -> list[Action]:
        """The store could not read: send an empty final batch, so the peer backs off
        from us until our next Advert rather than waiting for its timeout."""
        return self._answer(token, (), True, now_ms)

    def ingested(self, token: int, result: IngestResult, now_ms: int) -> list[Action]:
        """The writer ingested an Ingest action's events."""
        job = self._ingests.pop(token, None)
        if job is None:
            return []
        self._finish_ingest(job)
        for event in result.removed:
            self._cut[event.origin] = min(
                self._cut.get(event.origin, event.origin_seq), event.origin_seq - 1
            )
        for event in result.new:
            self._have.add(event.origin, event.origin_seq)
        for origin, top in result.vector.items():
            self._have.raise_top(origin, top)
        actions: list[Action] = []
        link = self._links.get(job.peer)
        if link is not None:
            link.stats.events_received += len(result.new)
            link.stats.clock_ahead += len(result.clock_ahead)
            link.stats.conflicts += len(result.conflicts) + len(result.removed)
        if result.clock_ahead:
            origins = sorted({e.origin for e in result.clock_ahead})
            for origin in origins:
                self._deferred_until[origin] = now_ms + self.config.reject_backoff_ms
            actions.append(
                Notice(
                    job.peer,
                    "clock_ahead",
                    f"refused {len(result.clock_ahead)} events of {', '.join(origins)} "
                    "stamped too far ahead of our clock; will ask again",
                )
            )
        if result.removed:
            origins = sorted({e.origin for e in result.removed})
            actions.append(
                Notice(
                    job.peer,
                    "removed_origin",
                    f"refused {len(result.removed)} events of {', '.join(origins)}, "
                    "made after its removal from the fleet",
                )
            )
        if result.conflicts:
            first = result.conflicts[0]
            actions.append(
                Notice(
                    job.peer,
                    "conflict",
                    f"refused {len(result.conflicts)} events contradicting stored ones, "
                    f"first {first.id} at {first.origin}:{first.origin_seq}",
                )
            )
        actions += self._push(result.new, job.peer, now_ms)
        return actions + self._plan_all(now_ms)

    def ingest_failed(self, token: int, now_ms: int) -> list[Action]:
        """The writer could not ingest: free the window; the ranges will be asked again."""
        job = self._ingests.pop(token, None)
        if job is None:
            return []
        self._finish_ingest(job)
        return self._plan_all(now_ms)

    # -- serving ----------------------------------------------------------

    def _answer(
        self, token: int, events: Sequence[Event], failed: bool, now_ms: int
    ) -> list[Action]:
        top = None if failed else self._have.top
        answered = self._server.answer(token, self._links, events, top)
        if answered is None:
            return []
        link, batch = answered
        return [self._send(link, batch, now_ms), *self._server.dispatch(link)]

    # -- receiving events ---------------------------------------------------

    def _on_batch(self, link: PeerLink, batch: Batch, now_ms: int) -> list[Action]:
        pending = link.awaiting.pop(batch.request_id, None)
        if pending is None:
            link.stats.late_batches += 1
            return []
        link.stats.batches_received += 1
        problem = check_batch(batch, pending)
        if problem:
            self._release([batch.request_id])
            return self._protocol_error(link, "bad_batch", problem, now_ms)
        link.request_events, link.request_cap = request_size(
            link.request_events, link.request_cap, pending.max_events, batch, self.config
        )
        if not batch.more or not batch.events:
            # The peer sent all it holds of these ranges (an empty batch can
            # mean nothing else): if that is less than it advertised, believe
            # the batch until its next Advert, or we would ask in a loop.
            for r in pending.ranges:
                end = served_to(r, batch.events)
                if end < r.last:
                    link.known[r.origin] = min(link.known.get(r.origin, 0), end)
        if not batch.events:
            self._release([batch.request_id])
            return []
        token = self._token()
        self._ingests[token] = _IngestJob(link.name, batch.request_id, push=False)
        link.batch_ingests += 1
        return [Ingest(link.name, token, batch.events)]

    def _on_push(self, link: PeerLink, push: Push, now_ms: int) -> list[Action]:
        if link.origin is not None:
            # A host holds its own events with no gap, so its pushes extend
            # what we know it has; a hole before them is pulled right away.
            for event in push.events:
                if event.origin == link.origin and event.origin_seq > link.known.get(
                    event.origin, 0
                ):
                    link.known[event.origin] = event.origin_seq
        # A peer's own events are ingested even for a slot we hold: its maker
        # vouches for them, so if ours is a different event (a forgery relayed
        # by someone else), the writer finds the two differ and records it.
        fresh = tuple(
            e
            for e in push.events
            if e.origin != self.origin
            and e.origin_seq <= self._cut.get(e.origin, e.origin_seq)
            and (e.origin == link.origin or not self._have.has(e.origin, e.origin_seq))
        )
        actions: list[Action] = []
        if fresh and link.push_ingests < self.config.max_push_ingests:
            token = self._token()
            self._ingests[token] = _IngestJob(link.name, token, push=True)
            # Claimed like a request, so planning does not ask for them meanwhile.
            self._claims[token] = tuple(Range(e.origin, e.origin_seq, e.origin_seq) for e in fresh)
            link.push_ingests += 1
            actions.append(Ingest(link.name, token, fresh))
        elif fresh:
            link.stats.pushes_dropped += 1
        return actions + self._plan_all(now_ms)

    def _finish_ingest(self, job: _IngestJob) -> None:
        self._release([job.claim])
        link = self._links.get(job.peer)
        if link is None:
            return
        if job.push:
            link.push_ingests -= 1
        else:
            link.batch_ingests -= 1

    # -- sending ------------------------------------------------------------

    def _push(self, events: Sequence[Event], source: str | None, now_ms: int) -> list[Action]:
        actions: list[Action] = []
        if not events:
            return actions
        for link in self._links.values():
            if not link.up or link.name == source:
                continue
            # Our own events go to every peer whatever it claims to hold: a peer
            # that holds one of our slots already holds a forgery, and only the
            # real event, offered to it, lets its writer see the two differ.
            wanted = [
                e
                for e in events
                if e.origin == self.origin
                or (
                    link.known.get(e.origin, 0) < e.origin_seq
                    and e.origin_seq <= self._cut.get(e.origin, e.origin_seq)
                )
            ]
            for part in split(wanted, self.config.batch_max_events, self.config.batch_max_bytes):
                link.stats.events_sent += len(part)
                actions.append(self._send(link, Push(part), now_ms))
        return actions

    def _plan_all(self, now_ms: int) -> list[Action]:
        # Rotate who plans first so one peer does not win every free range.
        links = [link for link in self._links.values() if link.up]
        if not links:
            return []
        self._rotation = (self._rotation + 1) % len(links)
        actions: list[Action] = []
        for link in links[self._rotation :] + links[: self._rotation]:
            actions += self._plan(link, now_ms)
        return actions

    def _plan(self, link: PeerLink, now_ms: int) -> list[Action]:
        free = link.free_slots()
        if free <= 0:
            return []
        wanted = [
            r
            for r in self._clip(self._have.lacking(link.known))
            if self._deferred_until.get(r.origin, 0) <= now_ms
        ]
        if not wanted:
            return []
        wanted = subtract(wanted, (r for claim in self._claims.values() for r in claim))
        size = link.request_events
        actions: list[Action] = []
        for chunk in islice(chunks(wanted, size, MAX_RANGES), free):
            request_id = self._token()
            ranges = tuple(chunk)
            link.awaiting[request_id] = Pending(ranges, size, now_ms)
            self._claims[request_id] = ranges
            request = Request(request_id, ranges, size, self.config.batch_max_bytes)
            actions.append(self._send(link, request, now_ms))
        return actions

    def _clip(self, ranges: list[Range]) -> list[Range]:
        """``ranges`` without the seqs of removed origins that were refused."""
        if not self._cut:
            return ranges
        out = []
        for r in ranges:
            cut = self._cut.get(r.origin)
            if cut is None:
                out.append(r)
            elif r.first <= cut:
                out.append(Range(r.origin, r.first, min(r.last, cut)))
        return out

    def _send(self, link: PeerLink, message: Message, now_ms: int) -> Send:
        link.sent(now_ms)
        return Send(link.name, message)

    def _protocol_error(self, link: PeerLink, code: str, detail: str, now_ms: int) -> list[Action]:
        link.stats.protocol_errors += 1
        link.stats.last_error = detail
        actions: list[Action] = [Notice(link.name, code, detail)]
        last = link.last_error_reply_ms
        if last is None or now_ms - last >= self.config.error_reply_interval_ms:
            link.last_error_reply_ms = now_ms
            actions.append(self._send(link, Error(code, detail), now_ms))
        return actions

    def _release(self, request_ids: Iterable[int]) -> None:
        for request_id in request_ids:
            self._claims.pop(request_id, None)

    def _token(self) -> int:
        self._next_token += 1
        return self._next_token
