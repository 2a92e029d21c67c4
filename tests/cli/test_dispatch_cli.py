"""``clare dispatch`` and ``clare session stop|attach`` against an in-process writer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


def test_dispatch_records_a_request_and_next_takes_the_most_urgent_ready_task(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    low = cli.fleet.call("task.add", project="alpha", title="low", priority=1)["task"]
    high = cli.fleet.call("task.add", project="alpha", title="high", priority=9)["task"]
    sent = cli.json("dispatch", "--next", "-p", "alpha", "--no-wait")
    assert sent["task"] == high
    (request,) = cli.json("task", "show", high)["dispatches"]
    assert (request["id"], request["state"], request["name"]) == (
        sent["request"], "requested", f"clare-{high}")  # fmt: skip
    assert cli.json("task", "show", low)["dispatches"] == []
    assert "give a task or --next" in cli.error("dispatch", low, "--next")
    assert "no host named" in cli.error("dispatch", low, "--host", "nowhere")


def test_a_host_that_never_answers_fails_with_one_line(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    said = cli.error("dispatch", task, "--timeout", "0.2")
    assert said.startswith("no answer from host laptop in 0.2 s")
    assert "\n" not in said


def test_dispatch_hosts_lists_offers_and_attach_prints_the_command(cli: Cli) -> None:
    assert "no host has said" in cli.ok("dispatch", "--hosts")
    cli.fleet.call("dispatch.offer", enabled=True, max_sessions=3)
    (offer,) = cli.json("dispatch", "--hosts")
    assert (offer["enabled"], offer["free"], offer["running"]) == (True, 3, 0)
    cli.fleet.session("sess-bg-1", session_kind="bg", job_id="9a8b7c")
    shown = cli.ok("session", "attach", "sess-bg-1", "--print")
    assert shown.strip() == "here, run: claude attach 9a8b7c"
    cli.fleet.session("sess-tty-1")
    assert "not a background session" in cli.error("session", "attach", "sess-tty-1")
    stop = cli.json("session", "stop", "sess-bg-1", "--no-wait")
    assert stop["request"].startswith("d-")
