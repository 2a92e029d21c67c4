"""`clare task show` with a work record, `clare task review`, `clare cost`, in one process."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.sessions.views_data import HOST

if TYPE_CHECKING:
    from tests.cli.conftest import Cli

WORK = {
    "cwd": "/w", "branch": "feature/x", "base": "main", "base_commit": "b" * 40,
    "head": "c" * 40, "commits": ["c" * 40 + " Add x"], "commits_total": 3,
    "files": ["4\t1\tx.py", "-\t-\tlogo.png"], "files_total": 2,
    "uncommitted": [" M notes.txt"],
}  # fmt: skip


def test_show_review_and_cost(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    assert cli.run("project", "update", "alpha", "--review").exit_code == 0
    usage = {"claude-haiku-4-5": [1_000_000, 0, 0, 0, 0], "claude-mystery-1": [5, 6, 0, 0, 0]}
    cli.fleet.session("s1", status="busy", project="alpha", usage=usage)
    task = cli.fleet.call("task.add", project="alpha", title="x")["task"]
    cli.fleet.call("task.claim", session="s1", candidates=[task])
    cli.fleet.call("task.finish", task=task, session="s1", work=WORK)

    shown = cli.run("task", "show", task)
    assert shown.exit_code == 0, shown.output
    assert "branch feature/x since main" in shown.output
    assert "3 commits (2 more not listed)" in shown.output
    assert "binary  logo.png" in shown.output
    assert " M notes.txt" in shown.output
    work = json.loads(cli.run("task", "show", task, "--json").output)["work"]
    assert work["files"][1] == {"path": "logo.png", "added": None, "deleted": None}

    refused = cli.run("task", "review", task, "--approve", "--request-changes", "x")
    assert refused.exit_code != 0
    sent = cli.run("task", "review", task, "--request-changes", "Add tests")
    assert sent.exit_code == 0, sent.output
    assert "in_progress" in sent.output
    assert "sent to session s1" in sent.output

    table = cli.run("cost", "--by", "session")
    assert table.exit_code == 0, table.output
    assert "$1.00 + price unknown" in table.output  # a million Haiku 4.5 input tokens
    assert 'price unknown for claude-mystery-1: set [prices."claude-mystery-1"]' in table.output
    # The fleet's clock stands in 2023: nothing was spent in the last hour.
    recent = json.loads(cli.run("cost", "--since", "1h", "--json").output)
    assert recent["rows"] == []
    report = json.loads(cli.run("cost", "--by", "host", "--since", "2023-01-01", "--json").output)
    assert [r["key"] for r in report["rows"]] == [HOST]  # no HostNamed event names it
    assert report["total"]["unpriced"]["claude-mystery-1"]["output"] == 6
    bad = cli.run("cost", "--by", "planet")
    assert bad.exit_code != 0
