"""The web context: reads off the loop, and read-your-writes after an action."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import trio

from clare.core.errors import StorageError
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.store import views as views_mod
from clare.web import context as context_mod
from clare.web.context import WebContext, default_author
from tests.web.conftest import MACHINE, make_web

if TYPE_CHECKING:
    from pathlib import Path


class NoWriter:
    async def call(self, op: str, args: object = None) -> dict[str, object]:
        raise AssertionError("not called")


async def test_reading_before_any_data_says_what_to_do(home: Path) -> None:
    ctx = WebContext(resolve(home), Config(machine_id=MACHINE, name="n"), NoWriter())
    with pytest.raises(StorageError, match="clare up"):
        await ctx.read(lambda v, e: None)
    assert ctx.author.endswith("@n")
    assert default_author(Config(machine_id=MACHINE, name="h")).endswith("@h")
    assert len(ctx.csrf) >= 24


async def test_an_action_waits_until_the_views_show_it(home: Path) -> None:
    web = make_web(home)
    web.writer.publish = False
    lagging = web.writer.projection
    applied: list[object] = []
    original = lagging.apply

    # The projector lags: events are applied only a moment after the writer answers.
    def later(events: object) -> dict[str, set[str]]:
        applied.append(events)
        return {}

    lagging.apply = later  # type: ignore[method-assign]

    async def project_soon() -> None:
        await trio.sleep(0.1)
        for events in applied:
            original(events)  # type: ignore[arg-type]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(project_soon)
        result = await web.ctx.call("project.add", {"name": "p"})
    seq = result["events"][0]["seq"]
    assert web.ctx.read_sync(lambda v, e: views_mod.position(v)) >= seq
    web.writer.close()


async def test_settling_gives_up_after_its_timeout(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    web = make_web(home)
    monkeypatch.setattr(context_mod, "SETTLE_TIMEOUT_S", 0.05)
    with trio.fail_after(2):
        await web.ctx.settle(10_000)  # never reached: returns anyway
    web.writer.close()
