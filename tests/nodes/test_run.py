from __future__ import annotations

import pytest

from clare.core.errors import ConfigError, ServiceUnavailable
from clare.nodes import run
from clare.runtime import node_names


def test_expected_failures_in_a_group_unwrap_to_one_error() -> None:
    group = BaseExceptionGroup(
        "x", [ExceptionGroup("y", [ServiceUnavailable("port 8766 is in use")])]
    )
    found = run._only_clare_errors(group)
    assert isinstance(found, ServiceUnavailable)
    assert str(found) == "port 8766 is in use"


def test_a_bug_in_the_group_is_not_hidden() -> None:
    group = BaseExceptionGroup("x", [ConfigError("bad"), RuntimeError("bug")])
    assert run._only_clare_errors(group) is None


def test_every_registered_node_can_be_loaded() -> None:
    for name in node_names.START_ORDER:
        assert callable(run.load_serve(name))
    assert node_names.START_ORDER[:2] == ("writer", "projector")


def test_unknown_node_is_refused_by_the_cli() -> None:
    with pytest.raises(KeyError):
        run.load_serve("mars")
