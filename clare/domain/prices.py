"""What a million tokens cost, per model: the table bundled with Clare, and its overrides.

The bundled rates are Anthropic's published API prices (``SOURCE`` and
``TAKEN_ON`` say where and when they were read), in US dollars per million
tokens, for each of the five kinds of token a transcript reports: input,
output, cache writes kept 5 minutes, cache writes kept an hour, and cache reads.
Only models whose row was on that page are here. A model that is not, and not
in ``[prices]`` of ``clare.toml`` either, has no price: its tokens are shown
with "price unknown", and no rate is guessed from a neighbouring model.

A model id from a transcript is matched exactly, then without a date suffix
(``claude-sonnet-4-5-20250929`` is ``claude-sonnet-4-5``) or a context suffix
(``claude-opus-4-6[1m]``), never by a shorter prefix: ``claude-opus-4`` and
``claude-opus-4-5`` cost three times apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

SOURCE = "https://platform.claude.com/docs/en/about-claude/pricing (Model pricing)"
TAKEN_ON = "2026-12-05"


@dataclass(frozen=True)
class Rates:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write: float  # kept 5 minutes (the default)
    cache_write_1h: float
    cache_read: float
    source: str = "bundled"  # "bundled", or "clare.toml" for an override


def _r(input_: float, cw5: float, cw1h: float, hit: float, output: float) -> Rates:
    # In the order of the published table's columns.
    return Rates(input_, output, cw5, cw1h, hit)


BUNDLED: dict[str, Rates] = {
    "claude-fable-5-1": _r(10, 12.50, 20, 0.25, 50),
    "claude-mythos-5-1": _r(10, 12.50, 20, 0.25, 50),
    "claude-fable-5": _r(10, 12.50, 20, 1, 50),
    "claude-mythos-5": _r(10, 12.50, 20, 1, 50),
    "claude-opus-5": _r(5, 6.25, 10, 0.50, 25),
    "claude-opus-4-8": _r(5, 6.25, 10, 0.50, 25),
    "claude-opus-4-7": _r(5, 6.25, 10, 0.50, 25),
    "claude-opus-4-6": _r(5, 6.25, 10, 0.50, 25),
    "claude-opus-4-5": _r(5, 6.25, 10, 0.50, 25),
    "claude-opus-4-1": _r(15, 18.75, 30, 1.50, 75),
    "claude-opus-4": _r(15, 18.75, 30, 1.50, 75),
    "claude-sonnet-4-6": _r(3, 3.75, 6, 0.30, 15),
    "claude-sonnet-4-5": _r(3, 3.75, 6, 0.30, 15),
    "claude-sonnet-4": _r(3, 3.75, 6, 0.30, 15),
    "claude-3-7-sonnet": _r(3, 3.75, 6, 0.30, 15),
    "claude-haiku-4-5": _r(1, 1.25, 2, 0.10, 5),
    "claude-3-5-haiku": _r(0.80, 1, 1.6, 0.08, 4),
    "claude-3-opus": _r(15, 18.75, 30, 1.50, 75),
    "claude-3-haiku": _r(0.25, 0.30, 0.50, 0.03, 1.25),
}

_DATE_SUFFIX = re.compile(r"-\d{8}$")
_CONTEXT_SUFFIX = re.compile(r"\[[^\]]*\]$")


def candidates(model: str) -> list[str]:
    """The names a model id is looked up under, most exact first."""
    names = [model]
    bare = _CONTEXT_SUFFIX.sub("", model)
    undated = _DATE_SUFFIX.sub("", bare)
    for name in (bare, undated):
        if name not in names:
            names.append(name)
    return names


def rates_for(model: str, overrides: Mapping[str, Rates] | None = None) -> Rates | None:
    """The rates of ``model``: an override first, then the bundled table; None if neither."""
    for name in candidates(model):
        if overrides and name in overrides:
            return overrides[name]
        if name in BUNDLED:
            return BUNDLED[name]
    return None


def cost_usd(rates: Rates, counts: tuple[int, ...]) -> float:
    """Dollars for token counts (input, output, cache writes, cache reads, 1-hour writes)."""
    tokens_in, tokens_out, written, read, written_1h = (*counts, 0, 0, 0, 0, 0)[:5]
    written_1h = min(written_1h, written)
    return (
        tokens_in * rates.input
        + tokens_out * rates.output
        + (written - written_1h) * rates.cache_write
        + written_1h * rates.cache_write_1h
        + read * rates.cache_read
    ) / 1_000_000
