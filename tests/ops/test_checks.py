from __future__ import annotations

from clare.ops.checks import Status, failure, group_or_other_bits, healthy, ok, render_text, report
from clare.ops.checks import warning as warn


def test_warnings_do_not_make_a_host_unhealthy_failures_do() -> None:
    assert healthy([ok("a", "fine"), warn("b", "meh", "do x")])
    assert not healthy([ok("a", "fine"), failure("c", "broken", "do y")])


def test_report_counts_each_status_and_keeps_the_fix() -> None:
    data = report([ok("a", "fine"), warn("b", "meh", "do x"), failure("c", "broken", "do y")])
    assert data["ok"] is False
    assert data["counts"] == {"ok": 1, "warning": 1, "failure": 1}
    assert data["checks"][2] == {
        "name": "c",
        "status": "failure",
        "summary": "broken",
        "fix": "do y",
    }


def test_text_puts_the_fix_under_its_check() -> None:
    text = render_text([ok("config", "fine"), failure("node:writer", "down", "clare up")])
    lines = text.splitlines()
    assert lines[0].split() == ["ok", "config", "fine"]
    assert lines[1].split()[:2] == ["FAIL", "node:writer"]
    assert lines[2].strip() == "fix: clare up"
    assert lines[-1] == "1 ok, 0 warnings, 1 failures"


def test_status_values_are_the_json_words() -> None:
    assert [s.value for s in Status] == ["ok", "warning", "failure"]


def test_group_or_other_bits() -> None:
    assert group_or_other_bits(0o100600) == 0
    assert group_or_other_bits(0o100644) == 0o044
    assert group_or_other_bits(0o040700) == 0
