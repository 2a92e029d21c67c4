"""Command requests and replies on the writer's ROUTER: the pure part of both clients.

A request carries a client-made uuid. The writer answers each uuid once and
stores the answer, so a client that timed out sends the very same request
again (Lazy Pirate) and gets the first answer: nothing is written twice.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from clare.bus import envelope
from clare.core.errors import ClareError, ProtocolError, ServiceUnavailable, UsageError, from_wire
from clare.core.record import Record

if TYPE_CHECKING:
    from clare.domain.command import Command

DEFAULT_TIMEOUT_S = 2.5
DEFAULT_ATTEMPTS = 3


class Request(Record):
    id: str
    op: str
    args: dict[str, Any]

    @classmethod
    def new(cls, op: str, args: dict[str, Any] | None = None) -> Request:
        return cls(new_command_id(), op, dict(args or {}))

    @classmethod
    def of(cls, command: Command) -> Request:
        """The request that asks the writer to do ``command``."""
        return cls.new(*command.to_wire())

    def encode(self) -> bytes:
        """The command's frame; a number msgpack cannot carry is the caller's input error.

        Arguments come from a person (a CLI option, a JSON body): an integer past
        64 bits once escaped as msgpack's OverflowError, a traceback in the CLI
        and a 500 from the API.
        """
        try:
            return envelope.encode(
                envelope.COMMAND, {"id": self.id, "op": self.op, "args": self.args}
            )
        except OverflowError:
            where = _oversized_number(self.args, "") or "a number"
            raise UsageError(
                f"{where} is out of range: numbers must lie between {MIN_WIRE_INT} "
                f"and {MAX_WIRE_INT}"
            ) from None


#: The integers msgpack carries: signed and unsigned 64 bits.
MIN_WIRE_INT = -(2**63)
MAX_WIRE_INT = 2**64 - 1


def _oversized_number(value: Any, path: str) -> str | None:
    """The name of the first integer in ``value`` that msgpack cannot carry, or None."""
    if isinstance(value, int) and not MIN_WIRE_INT <= value <= MAX_WIRE_INT:
        return path or "a number"
    items: Any = ()
    if isinstance(value, dict):
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    for name, item in items:
        found = _oversized_number(item, name)
        if found is not None:
            return found
    return None


def new_command_id() -> str:
    """A UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Why not uuid4: the writer keeps every answer in a table keyed by this id,
    inside the same fsync'd transaction as the events. Random keys land on
    random pages of that B-tree, and each dirty page is another 4 KiB written
    to the WAL on every commit; ids that grow with time all land on its last
    page. The random part keeps them unique across clients and hosts.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64
    value |= 0b10 << 62 | rand & 0x3FFF_FFFF_FFFF_FFFF
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def parse_request(frame: bytes) -> Request:
    data = envelope.decode(frame)
    if data["t"] != envelope.COMMAND:
        raise ProtocolError(f"expected a command, got a {data['t']!r} message")
    command_id = envelope.field(data, "id", str)
    if not 0 < len(command_id) <= 64:
        raise ProtocolError("command id must be 1 to 64 characters")
    args = data.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError("command args must be a map")
    return Request(command_id, envelope.field(data, "op", str), args)


def encode_ok(command_id: str, result: dict[str, Any]) -> bytes:
    return envelope.encode(envelope.REPLY_OK, {"id": command_id, "result": result})


def encode_error(command_id: str, error: ClareError) -> bytes:
    return envelope.encode(envelope.REPLY_ERROR, {"id": command_id, "error": error.to_wire()})


def parse_reply(frame: bytes) -> tuple[str, dict[str, Any] | ClareError]:
    """(command id, result) or (command id, the error the writer sent)."""
    data = envelope.decode(frame)
    command_id = data.get("id")
    if not isinstance(command_id, str):
        command_id = ""
    if data["t"] == envelope.REPLY_OK:
        result = data.get("result")
        if not isinstance(result, dict):
            raise ProtocolError("reply has no result map")
        return command_id, result
    if data["t"] == envelope.REPLY_ERROR:
        return command_id, from_wire(data.get("error"))
    raise ProtocolError(f"unexpected reply type {data['t']!r}")


def not_running(what: str = "the writer") -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Clare is not running here ({what} does not answer): start it with `clare up`"
    )
