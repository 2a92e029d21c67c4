from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import pytest

from tests.integration.stack import Stack, short_home

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def stack() -> Iterator[Stack]:
    home = short_home()
    instance = Stack(home)
    instance.init()
    try:
        yield instance
    finally:
        instance.down()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def running(stack: Stack) -> Stack:
    stack.up()
    return stack
