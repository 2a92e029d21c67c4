"""The web node's memory stays bounded under hostile clients (bench/hostile.py, for real).

A writer, a projector and a web node run as processes; the web node's
resident memory is read from /proc. The bounds are generous (tens of MB)
against growth that was hundreds: a 300 MB body took the node from 46 MB to
651 MB before bodies were read within their bound, and 30 streams that never
read grew it by 84 MB in 100 events, without end, before streams were bounded.
"""

from __future__ import annotations

import sys

import pytest

from bench import hostile

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads memory from /proc and TCP_USER_TIMEOUT"
)

STREAMS = 40
#: What the node may grow by with STREAMS stalled clients: a fixed part, and 1 MB a stream
#: (each holds at most its queue and one replay batch, 256 KiB each by default).
STREAM_BOUND_MB = 16 + STREAMS * 1.0


def test_a_huge_body_and_stalled_streams_leave_memory_bounded() -> None:
    figures = hostile.run(body_mb=300, streams=STREAMS, events=150, event_kb=60, stall_timeout_s=8)
    report = hostile.report(figures)
    _, rest_peak = figures.mb("at rest")
    _, body_peak = figures.mb("after a 300 MB body")
    assert figures.body_status == {"chunked": 413, "content-length": 413}, report
    assert body_peak - rest_peak < 32, report
    assert figures.streams_held == STREAMS, report
    load_step = f"{STREAMS} stalled streams, 150 events of 60 kB"
    _, load_peak = figures.mb(load_step)
    assert load_peak - body_peak < STREAM_BOUND_MB, report
    # The kernel disconnected every client that read nothing; their slots are free.
    assert figures.dropped_after_s is not None, report
    assert figures.streams_after_stall == 0, report
