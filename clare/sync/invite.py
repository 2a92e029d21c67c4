"""Invitation tokens and the join exchange: what `clare sync invite` prints and
`clare sync join` sends. Pure.

A token is one line, ``clare1.`` and the base64url of a msgpack list::

    [invite id, inviter endpoint, inviter public key, inviter origin, inviter name,
     expires (epoch ms), secret (32 bytes), mac (16 bytes)]

``mac`` is the first 16 bytes of HMAC-SHA256 keyed by the secret over every
other field. The inviter keeps only the SHA-256 of the secret (in its
``InviteIssued`` event), so the log never holds a usable secret. On a join
the new host sends the token's fields and its secret; the inviter checks that
the secret hashes to what it recorded for that invite and that the mac holds
over the fields it recorded (endpoint, key, expiry), so a token made up or
edited by anyone without the secret is refused. The new host checks the mac
too before connecting, so a damaged paste is caught at once.

The join exchange is one request and one reply on the inviter's gossip
ROUTER, from a connection ZAP admitted as a guest (see
``clare.nodes.gossip_join``): ``{"t": "join", "token": <fields>, "name",
"endpoint", "origin"}`` and ``{"t": "joined", "ok": true, "inviter": {...}}``
or ``{"t": "joined", "ok": false, "code", "message"}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

import msgpack

from clare.core.errors import ProtocolError, UsageError

PREFIX = "clare1."
SECRET_BYTES = 32
MAC_BYTES = 16
MAX_JOIN_FRAME = 4096


@dataclass(frozen=True, slots=True)
class Token:
    invite: str
    endpoint: str
    key: str
    origin: str
    name: str
    expires_ms: int
    secret: bytes
    mac: bytes = b""

    def fields(self) -> list[Any]:
        return [self.invite, self.endpoint, self.key, self.origin, self.name, self.expires_ms]

    def signed(self) -> Token:
        """This token with its mac computed from its secret."""
        mac = mac_of(self.secret, self.fields())
        return Token(
            self.invite, self.endpoint, self.key, self.origin, self.name,
            self.expires_ms, self.secret, mac,
        )  # fmt: skip

    def mac_ok(self) -> bool:
        return hmac.compare_digest(self.mac, mac_of(self.secret, self.fields()))

    def to_text(self) -> str:
        raw = msgpack.packb([*self.fields(), self.secret, self.mac], use_bin_type=True)
        return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def to_wire(self) -> list[Any]:
        return [*self.fields(), self.secret, self.mac]


def secret_hash(secret: bytes) -> str:
    """What the inviter records of a secret: its SHA-256, hex."""
    return hashlib.sha256(secret).hexdigest()


def mac_of(secret: bytes, fields: list[Any]) -> bytes:
    message = msgpack.packb(fields, use_bin_type=True)
    return hmac.new(secret, message, hashlib.sha256).digest()[:MAC_BYTES]


def token_from_wire(value: object) -> Token:
    """A token's fields as sent in a join frame (ProtocolError if malformed)."""
    if not isinstance(value, list | tuple) or len(value) != 8:
        raise ProtocolError("a token is a list of 8 fields")
    invite, endpoint, key, origin, name, expires, secret, mac = value
    texts = (invite, endpoint, key, origin, name)
    if not all(isinstance(t, str) and 0 < len(t) <= 200 for t in texts):
        raise ProtocolError("a token's text fields must be short strings")
    if not isinstance(expires, int) or isinstance(expires, bool) or not 0 < expires < 2**62:
        raise ProtocolError("a token's expiry must be a time in ms")
    if not (isinstance(secret, bytes) and len(secret) == SECRET_BYTES):
        raise ProtocolError(f"a token's secret is {SECRET_BYTES} bytes")
    if not (isinstance(mac, bytes) and len(mac) == MAC_BYTES):
        raise ProtocolError(f"a token's mac is {MAC_BYTES} bytes")
    return Token(invite, endpoint, key, origin, name, expires, secret, mac)


def parse_token(text: str) -> Token:
    """The token a person pasted; UsageError if it is not one or was damaged."""
    text = text.strip()
    if not text.startswith(PREFIX):
        raise UsageError(f"not a Clare invitation (it starts with {PREFIX!r})")
    body = text[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        token = token_from_wire(msgpack.unpackb(raw, raw=False))
    except (binascii.Error, ValueError, msgpack.UnpackException, ProtocolError) as exc:
        raise UsageError(f"the invitation is damaged: {exc}") from exc
    if not token.mac_ok():
        raise UsageError("the invitation was altered or damaged: its check does not hold")
    return token


# -- the join exchange ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JoinRequest:
    token: Token
    name: str
    endpoint: str
    origin: str

    def encode(self) -> bytes:
        frame: bytes = msgpack.packb(
            {
                "t": "join",
                "token": self.token.to_wire(),
                "name": self.name,
                "endpoint": self.endpoint,
                "origin": self.origin,
            },
            use_bin_type=True,
        )
        return frame


def decode_join(frame: bytes) -> JoinRequest:
    """A guest's join frame (ProtocolError if it is anything else)."""
    if len(frame) > MAX_JOIN_FRAME:
        raise ProtocolError("join frame too large")
    try:
        data = msgpack.unpackb(frame, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise ProtocolError("join frame is not msgpack") from exc
    if not isinstance(data, dict) or data.get("t") != "join":
        raise ProtocolError("a guest may only send a join frame")
    texts = [data.get(k) for k in ("name", "endpoint", "origin")]
    if not all(isinstance(t, str) and 0 < len(t) <= 200 for t in texts):
        raise ProtocolError("join needs name, endpoint and origin")
    return JoinRequest(token_from_wire(data.get("token")), *texts)  # type: ignore[arg-type]


def encode_reply(ok: bool, **fields: Any) -> bytes:
    frame: bytes = msgpack.packb({"t": "joined", "ok": ok, **fields}, use_bin_type=True)
    return frame


def decode_reply(frame: bytes) -> dict[str, Any]:
    try:
        data = msgpack.unpackb(frame, raw=False)
    except (ValueError, msgpack.UnpackException) as exc:
        raise ProtocolError("join reply is not msgpack") from exc
    if not isinstance(data, dict) or data.get("t") != "joined":
        raise ProtocolError("not a join reply")
    return data
