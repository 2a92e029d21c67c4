"""The inviter's desk for guests: bounded, and every refusal said and reported."""

from __future__ import annotations

from typing import Any

import trio

from clare.core.errors import PeerRefused
from clare.nodes.gossip_join import JOIN_TIMEOUT_S, JOINS_PER_WINDOW, JoinDesk
from clare.sync.invite import JoinRequest, Token, decode_reply

OWN_KEY = "k" * 40
TOKEN = Token("inv", "tcp://10.0.0.1:1", OWN_KEY, "origin-a", "a", 2**50, b"s" * 32).signed()
JOIN = JoinRequest(TOKEN, "b", "tcp://10.0.0.2:1", "origin-b").encode()


def _desk(call: Any, refusals: list[str]) -> JoinDesk:
    return JoinDesk(
        own_key=OWN_KEY, own_origin="origin-a", own_name="a", call=call,
        refused=lambda key, why: refusals.append(why),
        clock=trio.current_time,
    )  # fmt: skip


async def test_a_good_token_reaches_the_writer_with_the_authenticated_key() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    async def call(op: str, args: dict[str, Any]) -> dict[str, Any]:
        calls.append((op, args))
        return {}

    reply = decode_reply(await _desk(call, []).answer("guest-key", JOIN))
    assert reply["ok"]
    assert reply["inviter"]["key"] == OWN_KEY
    ((op, args),) = calls
    assert (op, args["key"], args["invite"]) == ("fleet.join", "guest-key", "inv")
    assert "secret" not in args
    assert len(args["secret_sha256"]) == 64


async def test_refusals_are_answered_and_reported(autojump_clock: trio.abc.Clock) -> None:
    refusals: list[str] = []

    async def refuse(op: str, args: dict[str, Any]) -> dict[str, Any]:
        raise PeerRefused("invitation inv was used already")

    async def hang(op: str, args: dict[str, Any]) -> dict[str, Any]:
        await trio.sleep(JOIN_TIMEOUT_S * 10)
        return {}

    assert decode_reply(await _desk(refuse, refusals).answer("g", JOIN))["code"] == "peer_refused"
    other = Token("inv", "tcp://10.0.0.1:1", "x" * 40, "origin-a", "a", 2**50, b"s" * 32)
    forged = JoinRequest(other.signed(), "b", "tcp://10.0.0.2:1", "origin-b").encode()
    assert (
        "not made here"
        in decode_reply(await _desk(refuse, refusals).answer("g", forged))["message"]
    )
    assert decode_reply(await _desk(refuse, refusals).answer("g", b"junk"))["ok"] is False
    started = trio.current_time()
    slow = decode_reply(await _desk(hang, refusals).answer("g", JOIN))
    assert slow["code"] == "unavailable"
    assert trio.current_time() - started < JOIN_TIMEOUT_S * 2
    assert len(refusals) == 4


async def test_a_flood_of_attempts_is_cut_off(autojump_clock: trio.abc.Clock) -> None:
    refusals: list[str] = []
    calls = 0

    async def call(op: str, args: dict[str, Any]) -> dict[str, Any]:
        nonlocal calls
        calls += 1
        raise PeerRefused("no")

    desk = _desk(call, refusals)
    for _ in range(JOINS_PER_WINDOW + 5):
        await desk.answer("g", JOIN)
    assert calls == JOINS_PER_WINDOW
    assert refusals[-1].startswith("too many")
    await trio.sleep(61)
    await desk.answer("g", JOIN)
    assert calls == JOINS_PER_WINDOW + 1
