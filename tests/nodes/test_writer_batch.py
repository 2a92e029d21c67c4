"""The writer's group commit takes what is waiting, bounded in count and in bytes."""

from __future__ import annotations

from clare.nodes.writer import MAX_BATCH_BYTES, take_batch

MiB = 1024 * 1024


class Queue:
    """The part of a socket ``take_batch`` uses: messages already waiting."""

    def __init__(self, messages: list[list[bytes]]) -> None:
        self.messages = messages

    def recv_nowait(self) -> list[bytes] | None:
        return self.messages.pop(0) if self.messages else None


def test_a_batch_stops_at_its_byte_bound() -> None:
    """2,000 frames of 4 MiB once made one batch of several GB."""
    big = [b"id", b"x" * (4 * MiB)]
    queue = Queue([list(big) for _ in range(20)])
    batch = take_batch(list(big), queue, max_count=2000, max_bytes=16 * MiB)
    assert len(batch) == 4  # 16 MiB and a few bytes: the one crossing the bound is kept
    assert len(queue.messages) == 17  # the rest wait for the next batch


def test_small_commands_are_bounded_by_count() -> None:
    queue = Queue([[b"id", b"cmd"] for _ in range(50)])
    batch = take_batch([b"id", b"first"], queue, max_count=10)
    assert len(batch) == 10
    assert batch[0] == [b"id", b"first"]
    assert len(queue.messages) == 41


def test_a_batch_takes_only_what_is_waiting() -> None:
    batch = take_batch([b"id", b"only"], Queue([]))
    assert batch == [[b"id", b"only"]]


def test_the_default_bound_holds_a_few_of_the_largest_frames() -> None:
    assert 4 * MiB <= MAX_BATCH_BYTES <= 64 * MiB
