"""``clare decision``: list, show, allow and deny, on a fleet whose writer runs in-process."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.cli.conftest import Cli


def ask(cli: Cli, summary: str, at: int, session: str = "sess-1") -> str:
    result = cli.fleet.call(
        "decision.ask", session=session, tool="Bash", summary=summary, at=at, cwd="/src/alpha",
        suggestions=['{"type": "addRules"}'],
    )  # fmt: skip
    return str(result["decision"])


def test_pending_decisions_are_listed_answered_by_prefix_and_shown(cli: Cli) -> None:
    cli.fleet.call("host.name", name="laptop")
    first = ask(cli, "make deploy", 1_800_000_000_000)
    second = ask(cli, "rm -rf build", 1_800_000_001_000)
    listed = cli.json("decision", "list")
    assert [(d["id"], d["host"], d["summary"]) for d in listed] == [
        (first, "laptop", "make deploy"),
        (second, "laptop", "rm -rf build"),
    ]
    text = cli.ok("decision", "list")
    assert "make deploy" in text
    assert "laptop" in text

    cli.ok("decision", "allow", first[:8])
    denied = cli.json("decision", "deny", second[2:9], "--reason", "use make clean")
    assert denied["behavior"] == "deny"
    assert cli.json("decision", "list") == []
    assert len(cli.json("decision", "list", "--all")) == 2
    shown = cli.json("decision", "show", second)
    assert shown["state"] == "denied"
    assert shown["answer"]["reason"] == "use make clean"
    assert shown["answer"]["via"] == "cli"
    assert shown["answer"]["author"].endswith("@laptop")
    assert "denied by" in cli.ok("decision", "show", second)


def test_an_answered_decision_cannot_be_answered_again(cli: Cli) -> None:
    decision = ask(cli, "ls", 1)
    cli.ok("decision", "deny", decision)
    assert "no longer pending: denied" in cli.error("decision", "allow", decision)


def test_unknown_and_empty_ids_say_so(cli: Cli) -> None:
    assert "no decision matches" in cli.error("decision", "allow", "d-ffff")
    assert "give a decision id" in cli.error("decision", "show", " ")
    assert "nothing waits" in cli.ok("decision", "list")
