from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from clare.app.recipients import (
    format_messages,
    pending_messages,
    project_for_cwd,
    recipient_for,
)
from tests.sessions.views_data import HOST, Fleet

if TYPE_CHECKING:
    from pathlib import Path

NOW = 1_800_000_000_000


@pytest.fixture
def fleet(tmp_path: Path) -> Fleet:
    fleet = Fleet(tmp_path)
    fleet.call("host.name", name="laptop", groups=["night-shift"])
    fleet.call("project.add", name="alpha", path="/src/alpha")
    fleet.call("project.add", name="beta", path="/src/beta")
    fleet.session("s-alpha", project="alpha", cwd="/src/alpha", status="busy")
    fleet.session("s-beta", project="beta", cwd="/src/beta", status="idle")
    fleet.call("group.add", name="reviewers", members=["session:s-beta"])
    return fleet


def send(fleet: Fleet, target: str, text: str, sent_at: int = NOW, **extra: object) -> str:
    result = fleet.call("message.send", target=target, text=text, sent_at=sent_at, **extra)
    return str(result["message"])


def pending_texts(fleet: Fleet, session: str, now: int = NOW, cwd: str = "") -> list[str]:
    who = recipient_for(fleet.views, session, machine_id=HOST, host_name="laptop", cwd=cwd)
    return [m.text for m in pending_messages(fleet.views, who, now)]


def test_project_for_cwd_takes_the_deepest_path() -> None:
    paths = {"a": "/src/a", "a-docs": "/src/a/docs/", "b": "/src/ab"}
    assert project_for_cwd("/src/a/docs/x", paths) == "a-docs"
    assert project_for_cwd("/src/a", paths) == "a"
    assert project_for_cwd("/src/abc", paths) == ""
    assert project_for_cwd("", paths) == ""


def test_each_target_reaches_its_sessions(fleet: Fleet) -> None:
    send(fleet, "all", "everyone")
    send(fleet, "project:alpha", "alpha only")
    send(fleet, "group:reviewers", "reviewers")
    send(fleet, "host:laptop", "this host")
    send(fleet, "group:night-shift", "hosts in the group", host_group=True)  # host config
    send(fleet, "session:s-alpha", "just you")
    assert pending_texts(fleet, "s-alpha") == [
        "everyone", "alpha only", "this host", "hosts in the group", "just you",
    ]  # fmt: skip
    assert pending_texts(fleet, "s-beta") == [
        "everyone", "reviewers", "this host", "hosts in the group",
    ]  # fmt: skip


def test_delivered_expired_and_ended_get_nothing(fleet: Fleet) -> None:
    message = send(fleet, "all", "once")
    fleet.call("message.deliver", session="s-alpha", messages=[message], via="hook", at=NOW)
    assert pending_texts(fleet, "s-alpha") == []
    assert pending_texts(fleet, "s-beta", now=NOW + 25 * 3600 * 1000) == []
    fleet.session("s-beta", project="beta", status="ended")
    assert pending_texts(fleet, "s-beta") == []


def test_an_unknown_session_is_placed_by_its_cwd(fleet: Fleet) -> None:
    send(fleet, "project:beta", "for beta")
    assert pending_texts(fleet, "s-new", cwd="/src/beta/lib") == ["for beta"]
    assert pending_texts(fleet, "s-new", cwd="/elsewhere") == []


def test_format_names_each_message(fleet: Fleet) -> None:
    send(fleet, "all", "stop pushing")
    who = recipient_for(fleet.views, "s-alpha", machine_id=HOST, host_name="laptop")
    text = format_messages(pending_messages(fleet.views, who, NOW))
    assert "stop pushing" in text
    assert "to all" in text
