from __future__ import annotations

import itertools
import random

from clare.core.events import Event
from clare.sync.actions import ReadEvents
from clare.sync.messages import Batch, Request
from clare.sync.peer import PeerLink
from clare.sync.serve import Server
from clare.sync.vector import Range

from .simnet import FAST


def setup() -> tuple[Server, PeerLink]:
    counter = itertools.count(1)
    link = PeerLink("p", FAST, random.Random(0).random, 0)
    return Server(FAST, lambda: next(counter)), link


def ev(seq: int) -> Event:
    return Event(0, f"me-{seq}", "me", seq, seq, "K", b"")


def test_reads_run_within_the_serve_window_and_queue() -> None:
    server, link = setup()
    req = Request(1, (Range("me", 1, 9),), 100, 10**6)
    (read,) = server.request(link, req)
    assert read == ReadEvents("p", 1, req.ranges, FAST.batch_max_events, FAST.batch_max_bytes)
    assert server.request(link, Request(2, req.ranges, 1, 1)) == []
    assert server.request(link, Request(3, req.ranges, 1, 1)) == []
    assert link.stats.requests_dropped == 1
    answered = server.answer(read.token, {"p": link}, [ev(1)], lambda origin: 9)
    assert answered == (link, Batch(1, (ev(1),), more=True))
    (queued,) = server.dispatch(link)
    assert queued.max_events == 1


def test_more_is_false_when_we_gave_all_we_hold() -> None:
    server, link = setup()
    (read,) = server.request(link, Request(5, (Range("me", 1, 9),), 4, 10**6))
    assert server.answer(read.token, {"p": link}, [ev(1), ev(2)], lambda origin: 2) == (
        link,
        Batch(5, (ev(1), ev(2)), more=False),
    )


def test_answers_for_a_vanished_or_restarted_peer_or_a_failed_read() -> None:
    server, link = setup()
    (read,) = server.request(link, Request(4, (Range("me", 1, 9),), 4, 10**6))
    assert server.answer(read.token, {}, [ev(1)], lambda origin: 9) is None
    (read,) = server.request(
        PeerLink("p", FAST, random.Random(0).random, 0), Request(5, (Range("me", 1, 9),), 4, 10**6)
    )
    link.reset()
    assert server.answer(read.token, {"p": link}, [ev(1)], lambda origin: 9) is None
    (read,) = server.request(link, Request(6, (Range("me", 1, 9),), 4, 10**6))
    assert server.answer(read.token, {"p": link}, [], None) == (link, Batch(6, (), more=False))
