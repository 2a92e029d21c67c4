"""The inviter's side of ``clare sync join``: a guest's one frame, checked and answered.

While this host has an invitation open (made here, unspent, unexpired), its
ZAP handler admits a CURVE key it does not know as a *guest*, named
``join:KEY``. A guest's frames never reach the sync core: the only one
answered is a join (:mod:`clare.sync.invite`). Its token must carry our own
key and origin and a mac that holds; the writer's ``fleet.join`` then checks
the secret's hash, the expiry and that the invitation is unspent, and records
the new member in the same transaction that spends it. The key recorded is the
one CURVE authenticated, never one the guest wrote. Every refusal is logged
and kept as a notice for ``clare sync status``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, TypeAlias

import trio

from clare.core.errors import ClareError, PeerRefused, ServiceUnavailable
from clare.domain.commands import FleetJoin
from clare.runtime.logs import get
from clare.sync.invite import decode_join, encode_reply, secret_hash
from clare.sync.peers import check_endpoint

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

log = get("clare.gossip")

#: Guests' join attempts answered per window; more are told to retry later.
JOINS_PER_WINDOW = 10
JOIN_WINDOW_S = 60.0
JOIN_TIMEOUT_S = 5.0

WriterCall: TypeAlias = "Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]"


class JoinDesk:
    """Answers guests for the gossip node, within bounds.

    A join is answered on the inbound ROUTER's own task (the only one that may
    send on it), which holds every peer's frames meanwhile. So it is bounded: a
    few attempts a minute whoever makes them, and a few seconds each.
    """

    def __init__(
        self,
        *,
        own_key: str,
        own_origin: str,
        own_name: str,
        call: WriterCall,
        refused: Callable[[str, str], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.own = (own_key, own_origin, own_name)
        self._call = call
        self._refused = refused
        self._clock = clock
        self._times: list[float] = []

    async def answer(self, key: str, frame: bytes) -> bytes:
        now = self._clock()
        self._times = [t for t in self._times if now - t < JOIN_WINDOW_S]
        if len(self._times) >= JOINS_PER_WINDOW:
            return _refuse(key, ServiceUnavailable("too many join attempts: retry later"),
                           self._refused)  # fmt: skip
        self._times.append(now)
        own_key, own_origin, own_name = self.own
        return await answer_join(
            frame, key, own_key=own_key, own_origin=own_origin, own_name=own_name,
            call=self._bounded, refused=self._refused,
        )  # fmt: skip

    async def _bounded(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        with trio.move_on_after(JOIN_TIMEOUT_S):
            return await self._call(op, args)
        raise ServiceUnavailable("the inviter's writer did not answer in time")


async def answer_join(
    frame: bytes,
    key: str,
    *,
    own_key: str,
    own_origin: str,
    own_name: str,
    call: Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]],
    refused: Callable[[str, str], None],
) -> bytes:
    """The reply to a guest's frame; ``refused(key, why)`` hears of each refusal."""
    try:
        request = decode_join(frame)
        token = request.token
        if token.key != own_key or token.origin != own_origin or not token.mac_ok():
            raise PeerRefused("the invitation was not made here, or was altered (forged?)")
        endpoint = check_endpoint(request.endpoint)
        join = FleetJoin(
            invite=token.invite,
            secret_sha256=secret_hash(token.secret),
            token_expires_ms=token.expires_ms,
            key=key,
            origin=request.origin,
            name=request.name[:64],
            endpoint=endpoint,
            now_ms=time.time_ns() // 1_000_000,
        )
        await call(*join.to_wire())
    except ClareError as exc:
        return _refuse(key, exc, refused)
    log.info("host joined by invitation", key=key, name=request.name, invite=token.invite)
    return encode_reply(
        True, inviter={"key": own_key, "origin": own_origin, "name": own_name,
                       "endpoint": token.endpoint},
    )  # fmt: skip


def _refuse(key: str, exc: ClareError, refused: Callable[[str, str], None]) -> bytes:
    log.warning("join refused", key=key, code=exc.code, reason=str(exc))
    refused(key, str(exc))
    return encode_reply(False, code=exc.code, message=str(exc)[:500])
