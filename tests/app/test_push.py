from __future__ import annotations

from typing import Any

from clare.app.push import MAX_LISTED, PushPlanner


def decision(i: int, session: str = "s") -> dict[str, Any]:
    return {"id": f"d-{i}", "session": f"{session}{i}", "tool": "Bash", "host": "server",
            "summary": f"make step{i}"}  # fmt: skip


def waiting(session: str, why: str = "permission to run Bash") -> dict[str, Any]:
    return {"id": session, "host": "laptop", "waiting_for": why}


def test_what_was_pending_at_start_is_not_pushed_again() -> None:
    planner = PushPlanner(min_interval_s=30)
    planner.observe([decision(1)], [waiting("w1")])
    assert planner.due(0) is None
    planner.observe([decision(1), decision(2)], [waiting("w1")])
    notice = planner.due(0)
    assert notice is not None
    assert notice.title == "Clare: a session needs you"
    assert notice.body == "Bash on server: make step2"


def test_a_burst_is_gathered_into_one_notice_per_interval() -> None:
    planner = PushPlanner(min_interval_s=30)
    planner.observe([], [])
    planner.observe([decision(1)], [])
    assert planner.due(100) is not None
    planner.observe([decision(i) for i in range(1, 10)], [])
    assert planner.due(110) is None  # within the interval: held back, not lost
    notice = planner.due(130)
    assert notice is not None
    assert notice.title == "Clare: 8 sessions need you"
    assert notice.body.count("\n") == MAX_LISTED  # five lines and the count of the rest
    assert notice.body.endswith("... and 3 more")
    assert planner.due(200) is None


def test_a_waiting_session_is_pushed_unless_its_decision_says_it_and_again_next_time() -> None:
    planner = PushPlanner(min_interval_s=0)
    planner.observe([], [])
    planner.observe([decision(1, session="w")], [waiting("w1")])
    notice = planner.due(0)
    assert notice is not None
    assert "w1" not in notice.body  # the decision of that very session is pushed instead
    planner.observe([], [waiting("w2", "an answer")])
    notice = planner.due(1)
    assert notice is not None
    assert "session w2 on laptop waits: an answer" in notice.body
    planner.observe([], [])  # it went on
    planner.observe([], [waiting("w2", "an answer")])  # and waits again
    assert planner.due(2) is not None
