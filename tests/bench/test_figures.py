"""Aims, statistics and the report's rows: the pure part of the harness."""

from __future__ import annotations

import pytest

from bench.figures import (
    Figure,
    Section,
    at_least,
    at_most,
    missing,
    number,
    percentile,
    share_of,
    within,
)
from bench.report import HEADER, Machine, render, row


def test_percentile_interpolates_between_ranks() -> None:
    samples = [float(x) for x in range(1, 101)]
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_ratio_aims_compare_with_the_baseline() -> None:
    fast = Figure("latency", 1.5, "ms", 1.0, "raw", (within(2.0),))
    slow = Figure("latency", 2.5, "ms", 1.0, "raw", (within(2.0),))
    assert fast.ratio == pytest.approx(1.5)
    assert fast.met is True
    assert slow.met is False
    assert Figure("rate", 30.0, "/s", 100.0, "raw", (share_of(0.4),)).met is False
    assert Figure("rate", 40.0, "/s", 100.0, "raw", (share_of(0.4),)).met is True


def test_every_aim_must_hold() -> None:
    aims = (at_least(150_000), share_of(0.25))
    assert Figure("rebuild", 200_000, "/s", 1_000_000, "raw", aims).met is False
    assert Figure("rebuild", 100_000, "/s", 200_000, "raw", aims).met is False
    assert Figure("rebuild", 200_000, "/s", 400_000, "raw", aims).met is True
    assert Figure("p99", 19.0, "ms", aims=(at_most(20),)).met is True
    assert Figure("p99", 21.0, "ms", aims=(at_most(20),)).met is False


def test_nothing_to_judge_is_neither_met_nor_missed() -> None:
    assert Figure("info", 3.0, "s").met is None
    assert Figure("ratio without baseline", 3.0, "ms", aims=(within(2.0),)).met is None
    slot = missing("`clare hook` wall", "ms", "not built yet", (within(1.5),))
    assert slot.met is None
    assert slot.ratio is None


def test_numbers_read_well() -> None:
    assert number(1_234_567.8) == "1,234,568"
    assert number(123.4) == "123"
    assert number(12.34) == "12.3"
    assert number(1.234) == "1.23"
    assert number(0.01234) == "0.0123"
    assert number(0) == "0"


def test_rows_show_value_baseline_ratio_aim_and_verdict() -> None:
    cells = row(Figure("p50", 0.6, "ms", 0.3, "raw insert", (within(2.0),))).split(" | ")
    assert cells[1:] == ["0.6 ms", "0.3 ms (raw insert)", "2.00", "ratio ≤ 2", "yes |"]
    slot = row(missing("hook", "ms", "not built yet: no such command", (within(1.5),)))
    assert "not built yet: no such command" in slot
    assert slot.endswith("| — |")
    assert "**no**" in row(Figure("p99", 30.0, "ms", aims=(at_most(20),)))


def test_render_names_the_machine_the_date_and_the_commit() -> None:
    machine = Machine("Some CPU", 2, 8.0, "3.11.7", "Linux 6", "2026-01-01 00:00 UTC", "abc123")
    sections = [Section("Latency", "how it is measured", [Figure("p50", 1.0, "ms")])]
    text = render(sections, machine, mode="full", command="python -m bench")
    assert "Some CPU, 2 cores" in text
    assert "2026-01-01 00:00 UTC" in text
    assert "abc123" in text
    assert HEADER in text
    assert "### Latency" in text
    assert "how it is measured" in text
