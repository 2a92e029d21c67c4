"""The fleet by invitation, as every shell calls it: invite, join, remove, list.

``invite`` records an invitation (the hash of a fresh secret) through the
writer and returns the token; ``join`` runs on the new host: it sends the
token to the inviter (:func:`clare.bus.curve_call.curve_call`), and once let
in records the inviter as its first link, from which it learns the rest of
the fleet by sync. See docs/sync-protocol.md, "A fleet by invitation".
"""

from __future__ import annotations

import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any

from clare.core.errors import (
    ClareError,
    PeerRefused,
    ProtocolError,
    ServiceUnavailable,
    UsageError,
)
from clare.domain.commands import FleetAdmit, FleetInvite, FleetRemove
from clare.domain.fleet import FLEET_ENTITY, Fleet, fold_fleet
from clare.runtime.config import advertised_endpoint
from clare.runtime.keys import ensure_keypair
from clare.store import eventlog
from clare.sync.invite import SECRET_BYTES, JoinRequest, Token, decode_reply, secret_hash
from clare.sync.peers import check_endpoint

if TYPE_CHECKING:
    from clare.app.instance import Instance

MAX_TTL_S = 30 * 24 * 3600.0
JOIN_TIMEOUT_S = 10.0
#: How long ``invite`` waits for the gossip node to open its door to the invitation.
DOOR_WAIT_S = 5.0

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> float:
    """``90s``, ``15m``, ``2h``, ``7d`` or plain seconds; UsageError otherwise."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:], 0)
    number = text[:-1] if unit else text
    try:
        seconds = float(number) * (unit or 1)
    except ValueError:
        raise UsageError(f"--ttl {text!r}: give a duration such as 15m, 2h or 7d") from None
    if not 0 < seconds <= MAX_TTL_S:
        raise UsageError("--ttl must be more than 0 and at most 30 days")
    return seconds


def invite(inst: Instance, *, endpoint: str | None, ttl_s: float) -> Token:
    """Record an invitation and return its token (the only copy of its secret)."""
    config = inst.config
    keys, _ = ensure_keypair(inst.paths)
    where = check_endpoint(endpoint or advertised_endpoint(config))
    secret = secrets.token_bytes(SECRET_BYTES)
    expires_ms = int((time.time() + ttl_s) * 1000)
    invite_id = uuid.uuid4().hex[:16]
    inst.submit(
        FleetInvite(
            invite=invite_id,
            secret_sha256=secret_hash(secret),
            expires_ms=expires_ms,
            key=keys.public,
            name=config.name,
            endpoint=where,
        )
    )
    token = Token(invite_id, where, keys.public, config.machine_id, config.name, expires_ms, secret)
    return token.signed()


def door_open(inst: Instance, invite_id: str, *, wait_s: float = DOOR_WAIT_S) -> str:
    """Wait until this host's gossip node lets guests present ``invite_id``.

    The invitation is in the log at once, but guests are let in by the gossip
    node, which learns of it from the writer a moment later: a token used in
    between would be refused at the door. Returns "" once the door is open, else
    why it is not (so the caller can say when the token will work).
    """
    from clare.bus.endpoints import GOSSIP_CONTROL

    deadline = time.monotonic() + wait_s
    while True:
        try:
            with inst.node_client("gossip", GOSSIP_CONTROL, timeout_s=2.0) as client:
                status = client.call("status", {})
        except ServiceUnavailable:
            return "the gossip node is not running here: the invitation works once `clare up` runs"
        if invite_id in status.get("fleet", {}).get("open_invites", []):
            return ""
        if time.monotonic() >= deadline:
            return f"the gossip node has not opened its door to it after {wait_s:.0f} s"
        time.sleep(0.05)


def join(inst: Instance, token: Token, *, endpoint: str | None) -> dict[str, Any]:
    """Present ``token`` to its inviter; on success record the inviter as our first link."""
    config = inst.config
    keys, _ = ensure_keypair(inst.paths)
    if token.key == keys.public:
        raise UsageError("that invitation was made by this host")
    if token.expires_ms <= time.time() * 1000:
        raise PeerRefused(f"invitation {token.invite} has expired")
    where = check_endpoint(endpoint or advertised_endpoint(config))
    if inst.writer_seq() is None:
        raise ServiceUnavailable("the writer is not running here: start Clare with `clare up`")
    from clare.bus.curve_call import curve_call  # zmq: only this command needs it

    request = JoinRequest(token, config.name, where, config.machine_id)
    frame = curve_call(
        token.endpoint, token.key, keys.public, keys.secret, request.encode(), JOIN_TIMEOUT_S
    )
    try:
        reply = decode_reply(frame)
    except ProtocolError as exc:
        raise PeerRefused(f"the inviter answered something else: {exc}") from exc
    if not reply.get("ok"):
        raise PeerRefused(f"the inviter refused: {reply.get('message', 'no reason given')}")
    inviter = reply.get("inviter")
    if not isinstance(inviter, dict) or inviter.get("key") != token.key:
        raise PeerRefused("the inviter's answer does not name the inviter")
    inst.submit(
        FleetAdmit(key=token.key, origin=token.origin, name=token.name, endpoint=token.endpoint)
    )
    return {"joined": True, "inviter": token.name, "endpoint": token.endpoint, "as": where}


def fleet(inst: Instance) -> Fleet:
    """The fleet as this host's events say, read from the events DB."""
    try:
        conn = eventlog.open_events_reader(inst.paths.events_db)
    except ClareError:
        return Fleet()
    try:
        return fold_fleet(eventlog.entity_events(conn, FLEET_ENTITY))
    finally:
        conn.close()


def remove(inst: Instance, host: str, reason: str) -> dict[str, Any]:
    return inst.submit(FleetRemove(host=host, reason=reason))
