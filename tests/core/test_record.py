from __future__ import annotations

from typing import ClassVar

import pytest

from clare.core.record import Record


class Point(Record):
    x: int
    y: int = 0
    dimensions: ClassVar[int] = 2
    _cache: dict[str, int]  # private: not a field


class Labelled(Point):
    label: str = ""


def test_fields_are_taken_in_order_positionally_or_by_name_with_defaults() -> None:
    assert Point._fields == ("x", "y")
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2)
    assert Point(1).y == 0
    assert Labelled(1, 2, "a").label == "a"
    assert Labelled._fields == ("x", "y", "label")


def test_wrong_arguments_say_what_is_wrong() -> None:
    with pytest.raises(TypeError, match="needs x"):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="has no field z"):
        Point(1, z=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="got x twice"):
        Point(1, x=2)  # type: ignore[misc]
    with pytest.raises(TypeError, match="takes 2 fields"):
        Point(1, 2, 3)  # type: ignore[call-arg]


def test_a_record_is_frozen_and_hashes_by_value() -> None:
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    # Another type with the same values is not equal, even a subclass.
    assert Point(1, 2) != Labelled(1, 2)
    assert Point(1, 2) != (1, 2)
    assert repr(Labelled(1, 2, "a")) == "Labelled(x=1, y=2, label='a')"


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    p = Labelled(1, 2, "a")
    assert p.replace(y=5) == Labelled(1, 5, "a")
    assert p == Labelled(1, 2, "a")
    with pytest.raises(TypeError, match="has no field z"):
        p.replace(z=1)
