from __future__ import annotations

import pytest

from clare.core import ids
from clare.core.errors import Ambiguous, NotFound, UsageError


def test_task_ids_are_prefixed_and_long_enough() -> None:
    task_id = ids.new_task_id()
    assert task_id.startswith("t-")
    assert len(task_id) == 2 + ids.ID_DIGITS
    assert len({ids.new_task_id() for _ in range(1000)}) == 1000


def test_shortest_unique_prefix_is_at_least_four_digits() -> None:
    short = ids.shortest_unique(["t-abcdef0000", "t-abce000000", "t-1234567890"])
    assert short["t-1234567890"] == "t-1234"
    assert short["t-abcdef0000"] == "t-abcd"
    assert short["t-abce000000"] == "t-abce"
    assert ids.shortest_unique(["t-aaaa1", "t-aaaa2"]) == {
        "t-aaaa1": "t-aaaa1",
        "t-aaaa2": "t-aaaa2",
    }


def test_resolve_prefix() -> None:
    candidates = ["t-abc1", "t-abc2", "t-ffff"]
    assert ids.resolve_prefix("t-f", candidates, "task") == "t-ffff"
    with pytest.raises(Ambiguous, match="2 tasks"):
        ids.resolve_prefix("t-abc", candidates, "task")
    with pytest.raises(NotFound, match="no task"):
        ids.resolve_prefix("t-0", candidates, "task")


@pytest.mark.parametrize("name", ["", "Upper", "-lead", "a b", "x" * 65, "ä"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UsageError):
        ids.check_name(name, "project")


def test_good_names_pass() -> None:
    assert ids.check_name("web-app_2.0", "project") == "web-app_2.0"
