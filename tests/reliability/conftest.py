"""The reliability suite's switches and shared instances.

``--long`` runs the full figures (many crash rounds, 100,000 commands from 50
clients); without it every test runs a scaled-down version that fits CI.
``CLARE_FIGURES=path`` makes the session write what the tests measured to a
JSON file (``python -m tests.reliability.soak`` sets it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.reliability.harness import Pair, open_pair

if TYPE_CHECKING:
    from collections.abc import Iterator

_FIGURES: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        default=False,
        help="reliability suite: run the long mode (many rounds, full load)",
    )


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("CLARE_FIGURES")
    if target and _FIGURES:
        Path(target).write_text(json.dumps(_FIGURES, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def long_mode(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--long"))


@pytest.fixture(scope="session")
def figures() -> dict[str, Any]:
    """What the tests measured, by name; written out at the end of the session."""
    return _FIGURES


@pytest.fixture(scope="session")
def pair() -> Iterator[Pair]:
    """Two synced instances running every node, shared by the tests that need them.

    Tests that kill nodes wait for the supervisor to bring them back, so the next
    test finds the pair whole.
    """
    yield from open_pair()
