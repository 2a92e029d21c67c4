"""Cost figures against a hand count of a real transcript's usage records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from clare.app.cost import cost_report
from clare.domain.cost import Total
from clare.runtime.config import Config
from clare.sessions.transcript import TranscriptParser
from clare.sessions.transcript_summary import TranscriptSummary
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from clare.sessions.transcript import Usage

FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures/claude-code-2.0.77/.claude/projects/-home-dev-work-alpha-svc"
    / "82053e5c-a628-43df-adf4-905760099d4a.jsonl"
)
# claude-sonnet-4-5 as published: input, output, 5-minute cache writes, cache reads ($/MTok).
SONNET_4_5 = {"input": 3.0, "output": 15.0, "cache_write": 3.75, "cache_read": 0.30}


def hand_count(path: Path) -> dict[str, int]:
    """Each API message's usage once (its last line's), summed: plain iteration, as jq would."""
    last: dict[str, dict[str, int]] = {}
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") != "assistant" or "usage" not in record["message"]:
            continue
        last[record["message"]["id"]] = record["message"]["usage"]
    keys = {
        "input": "input_tokens",
        "output": "output_tokens",
        "cache_write": "cache_creation_input_tokens",
        "cache_read": "cache_read_input_tokens",
    }
    return {ours: sum(u.get(theirs, 0) for u in last.values()) for ours, theirs in keys.items()}


def summary_of(path: Path) -> TranscriptSummary:
    parser = TranscriptParser()
    summary = TranscriptSummary()
    summary.add_all(parser.feed(path.read_bytes()))
    summary.add_all(parser.flush())
    return summary


def counts(usage: Usage) -> tuple[int, int, int, int, int]:
    return (
        usage.input_tokens, usage.output_tokens, usage.cache_creation_input_tokens,
        usage.cache_read_input_tokens, usage.cache_creation_1h_tokens,
    )  # fmt: skip


def test_cost_of_a_real_transcript_equals_the_hand_count() -> None:
    by_hand = hand_count(FIXTURE)
    assert by_hand == {"input": 48, "output": 28, "cache_write": 0, "cache_read": 0}
    dollars = sum(by_hand[k] * SONNET_4_5[k] for k in by_hand) / 1_000_000
    summary = summary_of(FIXTURE)
    assert list(summary.usage_by_model) == ["claude-sonnet-4-5-20250929"]
    total = Total()
    total.add({m: counts(u) for m, u in summary.usage_by_model.items()})
    report = total.report()
    assert {k: report["tokens"][k] for k in by_hand} == by_hand
    assert report["cost_usd"] == pytest.approx(dollars)
    assert report["unpriced"] == {}


def test_a_task_costs_what_its_session_spent_while_it_held_it(tmp_path: Path) -> None:
    fleet = Fleet(tmp_path)
    config = Config(machine_id=HOST, name="here")
    fleet.call("project.add", name="alpha")
    model = "claude-sonnet-4-5-20250929"
    fleet.session("s1", status="busy", project="alpha", usage={model: [1000, 100, 0, 0, 0]})
    task = fleet.call("task.add", project="alpha", title="x")["task"]
    fleet.call("task.claim", session="s1", candidates=[task])
    fleet.session("s1", status="idle", project="alpha", usage={model: [3000, 600, 0, 50_000, 0]})
    fleet.call("task.finish", task=task, session="s1")
    fleet.session("s1", status="busy", project="alpha", usage={model: [9000, 900, 0, 90_000, 0]})
    now = 2**62 >> 16  # far in the future
    by_task = cost_report(fleet.views, fleet.core.conn, config, by="task", now_ms=now)
    (row,) = by_task["rows"]
    assert row["key"] == task
    assert row["tokens"] == {
        "input": 2000, "output": 500, "cache_write": 0, "cache_read": 50_000, "cache_write_1h": 0,
    }  # fmt: skip
    assert row["cost_usd"] == pytest.approx((2000 * 3 + 500 * 15 + 50_000 * 0.30) / 1e6)
    by_project = cost_report(fleet.views, fleet.core.conn, config, by="project", now_ms=now)
    assert by_project["rows"][0]["key"] == "alpha"
    assert by_project["total"]["tokens"]["input"] == 9000
    by_day = cost_report(fleet.views, fleet.core.conn, config, by="day", now_ms=now)
    assert sum(r["tokens"]["input"] for r in by_day["rows"]) == 9000
    cheap = Config(machine_id=HOST, name="here", prices=((model, (0.0, 0.0, 0.0, 0.0, 0.0)),))
    assert cost_report(fleet.views, fleet.core.conn, cheap, now_ms=now)["total"]["cost_usd"] == 0
