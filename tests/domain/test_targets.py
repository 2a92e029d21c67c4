from __future__ import annotations

import pytest

from clare.core.errors import UsageError
from clare.domain.targets import Recipient, groups_of, parse_target, reaches

WHO = Recipient("s1", "mid-1", "laptop", "alpha", frozenset({"ops"}))


def test_parse_target() -> None:
    assert parse_target("all") == ("all", "")
    assert parse_target("session:abc:def") == ("session", "abc:def")
    for bad in ("everyone", "all:x", "project:", "host"):
        with pytest.raises(UsageError):
            parse_target(bad)


def test_reaches() -> None:
    assert reaches("all", 0, WHO, 5)
    assert reaches("host:laptop", 0, WHO, 5)
    assert reaches("host:mid-1", 0, WHO, 5)
    assert reaches("group:ops", 0, WHO, 5)
    assert not reaches("group:dev", 0, WHO, 5)
    assert not reaches("project:beta", 0, WHO, 5)
    assert not reaches("all", 4, WHO, 5)  # expired
    assert not reaches("planet:mars", 0, WHO, 5)  # from a newer peer: not for us
    assert not reaches("all", 0, Recipient("s1", "m", "h", "", ended=True), 5)
    assert not reaches("project:alpha", 0, Recipient("s1", "m", "h", ""), 5)


def test_groups_of() -> None:
    groups = [("a", ["session:s1"]), ("b", ["host:laptop"]), ("c", ["session:s2"])]
    assert groups_of("s1", "laptop", groups) == frozenset({"a", "b"})
