"""Figures, aims and the statistics behind them. Pure: numbers in, verdicts out.

A benchmark reports ``Figure`` values. Each may carry the baseline it was
measured beside in the same run, and aims of four shapes: an absolute bound
(``at_most`` / ``at_least``) or a bound on the ratio to the baseline
(``ratio_at_most`` / ``ratio_at_least``). A figure whose subject does not
exist yet is ``missing``: it says so instead of showing a number.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Sequence

AimKind = Literal["at_most", "at_least", "ratio_at_most", "ratio_at_least"]


@dataclass(frozen=True)
class Aim:
    kind: AimKind
    bound: float

    def met(self, value: float, baseline: float | None) -> bool | None:
        """Whether ``value`` meets the aim; None when a ratio aim has no baseline."""
        if self.kind == "at_most":
            return value <= self.bound
        if self.kind == "at_least":
            return value >= self.bound
        ratio = _ratio(value, baseline)
        if ratio is None:
            return None
        return ratio <= self.bound if self.kind == "ratio_at_most" else ratio >= self.bound

    def describe(self, unit: str) -> str:
        if self.kind == "at_most":
            return f"≤ {number(self.bound)} {unit}".rstrip()
        if self.kind == "at_least":
            return f"≥ {number(self.bound)} {unit}".rstrip()
        if self.kind == "ratio_at_most":
            return f"ratio ≤ {self.bound:g}"
        return f"ratio ≥ {self.bound:g}"


def at_most(bound: float) -> Aim:
    return Aim("at_most", bound)


def at_least(bound: float) -> Aim:
    return Aim("at_least", bound)


def within(times: float) -> Aim:
    """At most ``times`` the baseline (for latencies and wall times)."""
    return Aim("ratio_at_most", times)


def share_of(fraction: float) -> Aim:
    """At least ``fraction`` of the baseline (for rates)."""
    return Aim("ratio_at_least", fraction)


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``value`` None means its subject is not there to measure."""

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    aims: tuple[Aim, ...] = ()
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return None if self.value is None else _ratio(self.value, self.baseline)

    @property
    def met(self) -> bool | None:
        """True if every aim is met, False if one is missed, None if nothing to judge."""
        if self.value is None or not self.aims:
            return None
        verdicts = [aim.met(self.value, self.baseline) for aim in self.aims]
        if any(v is False for v in verdicts):
            return False
        return None if any(v is None for v in verdicts) else True

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
            "aims": [aim.describe(self.unit) for aim in self.aims],
            "met": self.met,
            "note": self.note,
        }


def missing(name: str, unit: str, why: str, aims: tuple[Aim, ...] = ()) -> Figure:
    return Figure(name, None, unit, aims=aims, note=why)


@dataclass
class Section:
    """The figures of one benchmark, with what a reader needs to interpret them."""

    title: str
    method: str
    figures: list[Figure] = field(default_factory=list)


def _ratio(value: float, baseline: float | None) -> float | None:
    if baseline is None or baseline == 0 or math.isnan(baseline):
        return None
    return value / baseline


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def number(value: float) -> str:
    """A readable number: three significant digits, thousands separated."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"
