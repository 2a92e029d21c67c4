from __future__ import annotations

from dataclasses import replace

from clare.app.session_poll import UNSEEN_GRACE_MS, PollerCore
from clare.domain.events import SessionObserved
from clare.domain.session_ops import TOKEN_STEP
from clare.sessions.source import Observation, ScanResult

HOST = "00000000-0000-4000-8000-000000000001"
NOW = 1_800_000_000_000
PROJECTS = {"alpha": "/src/alpha", "alpha-docs": "/src/alpha/docs"}
OBS = Observation(session="s1", source="claude-code", pid=9, cwd="/src/alpha/lib", status="busy")


def scan(*observations: Observation, complete: bool = True) -> ScanResult:
    return ScanResult(observations=list(observations), complete=complete)


def plan_and_record(core: PollerCore, result: ScanResult, now: int = NOW) -> list[SessionObserved]:
    out = core.plan("claude-code", result, PROJECTS, now)
    for snap in out:
        core.recorded(snap)
    return out


def test_a_new_session_is_recorded_once_with_its_project() -> None:
    core = PollerCore(HOST)
    (snap,) = plan_and_record(core, scan(OBS))
    assert (snap.session, snap.host, snap.project, snap.status) == ("s1", HOST, "alpha", "busy")
    assert plan_and_record(core, scan(OBS)) == []
    docs = replace(OBS, cwd="/src/alpha/docs/api")
    (moved,) = plan_and_record(core, scan(docs))
    assert moved.project == "alpha-docs"  # the deepest project path wins


def test_tokens_move_in_coarse_steps() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(OBS))
    assert plan_and_record(core, scan(replace(OBS, tokens_in=TOKEN_STEP - 1))) == []
    (snap,) = plan_and_record(core, scan(replace(OBS, tokens_in=TOKEN_STEP)))
    assert snap.tokens_in == TOKEN_STEP
    (idle,) = plan_and_record(core, scan(replace(OBS, status="idle", tokens_in=TOKEN_STEP + 5)))
    assert idle.tokens_in == TOKEN_STEP + 5  # any real change carries the current counts


def test_a_session_missing_from_a_complete_scan_has_ended() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(OBS))
    assert plan_and_record(core, scan(complete=False)) == []
    (ended,) = plan_and_record(core, scan())
    assert (ended.session, ended.status) == ("s1", "ended")
    assert plan_and_record(core, scan()) == []
    assert core.reported == {}  # forgotten once no source mentions it


def test_a_session_only_hooks_give_a_status_reports_new_lines() -> None:
    # The writer needs them to see that a wait for a person is over.
    core = PollerCore(HOST)
    hooked = replace(OBS, status="", last_activity=NOW)
    plan_and_record(core, scan(hooked))
    assert plan_and_record(core, scan(hooked)) == []
    (moved,) = plan_and_record(core, scan(replace(hooked, last_activity=NOW + 1)))
    assert moved.last_activity == NOW + 1
    with_status = replace(OBS, last_activity=NOW)
    plan_and_record(core, scan(with_status))
    assert plan_and_record(core, scan(replace(with_status, last_activity=NOW + 1))) == []


def test_sessions_of_another_source_are_left_alone() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(replace(OBS, source="rclaude")))
    assert plan_and_record(core, scan()) == []


def test_a_session_only_the_views_know_gets_a_grace_period() -> None:
    core = PollerCore(HOST)
    from_hook = SessionObserved(session="s2", host=HOST, status="busy", last_activity=NOW)
    core.seed([from_hook, replace(from_hook, session="s3", host="elsewhere")])
    assert set(core.reported) == {"s2"}
    assert plan_and_record(core, scan(), now=NOW + UNSEEN_GRACE_MS) == []
    (ended,) = plan_and_record(core, scan(), now=NOW + UNSEEN_GRACE_MS + 1)
    assert ended.status == "ended"


def test_seeding_revives_a_session_a_hook_brought_back() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(OBS))
    plan_and_record(core, scan())
    revived = SessionObserved(session="s1", host=HOST, status="busy", last_activity=NOW)
    core.seed([revived])
    assert core.reported["s1"].status == "busy"


def test_state_survives_a_restart() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(OBS))
    again = PollerCore(HOST)
    again.restore(core.to_dict())
    assert again.reported == core.reported
    assert plan_and_record(again, scan(OBS)) == []
    broken = PollerCore(HOST)
    broken.restore({"reported": {"s1": {"session": "s1", "pid": "x"}, "s2": 5}})
    assert broken.reported == {}


def test_lagging_views_do_not_make_the_poller_end_a_session_again() -> None:
    core = PollerCore(HOST)
    plan_and_record(core, scan(OBS))
    (ended,) = core.plan("claude-code", scan(), PROJECTS, NOW)
    core.recorded(ended, seq=500)
    # The projector has not reached seq 500: the views still show the session live.
    stale = SessionObserved(session="s1", host=HOST, status="busy", last_activity=NOW)
    for _ in range(3):
        core.seed([stale], views_position=400)
        assert core.plan("claude-code", scan(), PROJECTS, NOW) == []
    # Once the views are past our record, a live view is a real revival again.
    core.seed([stale], views_position=500)
    core.seed([stale], views_position=501)
    assert core.reported["s1"].status == "busy"
