"""The dispatcher acts only on what its writer says this call accepted, and never twice."""

from __future__ import annotations

import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from clare.domain.commands import DispatchNoteStopped
from clare.nodes.dispatcher import Dispatcher
from clare.runtime.config import Config

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from clare.domain.command import Command

CONFIG = Config(machine_id=str(uuid.uuid4()), name="b", dispatch_enabled=True)


class FakeClient:
    """The writer as the dispatcher sees it: answers per op, every call recorded."""

    def __init__(self, answers: dict[str, dict[str, Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def submit(self, command: Command) -> dict[str, Any]:
        op, args = command.to_wire()
        self.calls.append((op, args))
        return self.answers.get(op, {})


def request(state: str, action: str = "stop") -> dict[str, Any]:
    return {"id": "d-00000001", "action": action, "state": state, "task": None}


def make(tmp_path: Path, client: FakeClient, config: Config = CONFIG) -> Dispatcher:
    from clare.runtime.paths import resolve

    return Dispatcher(resolve(tmp_path), config, client)  # type: ignore[arg-type]


async def test_a_request_accepted_elsewhere_or_before_is_not_acted_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = FakeClient({"dispatch.accept": {"accepted": False, "state": "accepted"}})
    dispatcher = make(tmp_path, client)
    acted: list[str] = []

    async def act(req: dict[str, Any], conn: object) -> None:
        acted.append(req["id"])

    monkeypatch.setattr(dispatcher, "_act", act)
    conn = sqlite3.connect(":memory:")
    await dispatcher._move_on(request("requested"), conn)
    assert acted == []
    client.answers["dispatch.accept"] = {"accepted": True}
    await dispatcher._move_on(request("requested"), conn)
    assert acted == ["d-00000001"]


async def test_an_acceptance_left_by_a_run_that_died_is_refused_not_acted_on(
    tmp_path: Path,
) -> None:
    client = FakeClient({})
    dispatcher = make(tmp_path, client)
    conn = sqlite3.connect(":memory:")
    await dispatcher._move_on(request("accepted"), conn)
    ((op, args),) = client.calls
    assert op == "dispatch.refuse"
    assert "interrupted" in args["reason"]
    # One this run acted on whose record the writer missed: the record again, not the act.
    client.calls.clear()
    dispatcher.unsettled["d-00000001"] = DispatchNoteStopped(request="d-00000001", how="h")
    await dispatcher._move_on(request("accepted"), conn)
    assert client.calls == [("dispatch.stopped", {"request": "d-00000001", "how": "h"})]
    assert dispatcher.unsettled == {}
    # One this run acted on and recorded, still shown accepted (the views lag): left alone.
    client.calls.clear()
    dispatcher.mine.add("d-00000001")
    await dispatcher._move_on(request("accepted"), conn)
    assert client.calls == []


async def test_a_host_with_dispatch_off_sends_its_refusal_with_the_acceptance(
    tmp_path: Path,
) -> None:
    client = FakeClient({"dispatch.accept": {"accepted": False, "reason": "off"}})
    dispatcher = make(tmp_path, client, CONFIG.replace(dispatch_enabled=False))
    await dispatcher._move_on(request("requested", "start"), sqlite3.connect(":memory:"))
    ((op, args),) = client.calls
    assert op == "dispatch.accept"
    assert args["refuse"].startswith("dispatch is off on host b")


async def test_requests_accepted_in_one_round_count_against_capacity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clare.app import dispatch as service

    client = FakeClient({"dispatch.accept": {"accepted": True}})
    dispatcher = make(tmp_path, client, CONFIG.replace(dispatch_max_sessions=1))
    seen: list[int] = []

    def refusal(config: Config, views: object, req: object, *, extra_load: int = 0) -> str:
        seen.append(extra_load)
        return "at capacity" if extra_load >= config.dispatch_max_sessions else ""

    async def act(req: dict[str, Any], conn: object) -> None:
        pass

    monkeypatch.setattr(service, "local_refusal", refusal)
    monkeypatch.setattr(dispatcher, "_act", act)
    conn = sqlite3.connect(":memory:")
    first, second = request("requested", "start"), {**request("requested", "start"), "id": "d-2"}
    await dispatcher._move_on(first, conn)
    await dispatcher._move_on(first, conn)  # seen again before the views moved: skipped
    await dispatcher._move_on(second, conn)
    assert seen == [0, 1]
    assert client.calls[-1][1]["refuse"] == "at capacity"
