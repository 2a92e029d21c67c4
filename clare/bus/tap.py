"""Listening to every PUB socket of a host at once, decoded: what ``clare tap`` shows.

Blocking pyzmq: the tap is a short-lived client that only reads. A frame that
does not decode is counted and shown as such, never fatal.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import zmq

from clare.bus import envelope, published
from clare.bus.endpoints import PUBLISHERS, Endpoints
from clare.bus.sockets import make_socket
from clare.core.errors import ProtocolError, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.core.events import Event


@dataclass
class TapMessage:
    node: str
    topic: str
    data: dict[str, Any] | None  # None when the frame did not decode
    error: str = ""

    @property
    def kind(self) -> str:
        if self.data is None:
            return "?"
        return str(self.data.get("kind") or self.data.get("t") or self.topic)


class Tap:
    def __init__(self, endpoints: Endpoints, nodes: list[str] | None = None) -> None:
        chosen = nodes or list(PUBLISHERS)
        unknown = [n for n in chosen if n not in PUBLISHERS]
        if unknown:
            raise UsageError(
                f"unknown node(s) {', '.join(unknown)}; known: {', '.join(PUBLISHERS)}"
            )
        self.undecodable = 0
        self._socks: dict[zmq.Socket[Any], str] = {}
        self._poller = zmq.Poller()
        for node in chosen:
            sock = make_socket(
                zmq.SUB, connect=[endpoints.ipc(PUBLISHERS[node])], options={zmq.SUBSCRIBE: b""}
            )
            self._socks[sock] = node
            self._poller.register(sock, zmq.POLLIN)
        self.present = [n for n in chosen if os.path.exists(endpoints.socket_file(PUBLISHERS[n]))]

    def messages(self, kind_glob: str = "*", timeout_ms: int | None = None) -> Iterator[TapMessage]:
        while True:
            ready = dict(self._poller.poll(timeout_ms))
            if not ready:
                return
            for sock, node in self._socks.items():
                if sock not in ready:
                    continue
                frames = sock.recv_multipart()
                for message in self._decode(node, frames):
                    if fnmatch.fnmatchcase(message.kind, kind_glob):
                        yield message

    def _decode(self, node: str, frames: list[bytes]) -> list[TapMessage]:
        """One message per event: a commit's batch is shown event by event."""
        topic = frames[0].decode(errors="replace") if len(frames) > 1 else ""
        try:
            data = envelope.decode(frames[-1])
            if data["t"] != published.BATCH:
                return [self._message(node, topic, data)]
            events = published.events_of(data)
        except ProtocolError as exc:
            self.undecodable += 1
            return [TapMessage(node, topic, None, str(exc))]
        return [self._message(node, topic, _as_single(event)) for event in events]

    def _message(self, node: str, topic: str, data: dict[str, Any]) -> TapMessage:
        if data.get("t") == envelope.EVENT and isinstance(data.get("body"), bytes):
            try:
                data["data"] = published.decode_event(data).data()
            except (ProtocolError, ValueError) as exc:
                # The envelope was fine but the event inside is not: count it too.
                self.undecodable += 1
                del data["body"]
                return TapMessage(node, topic, data, f"undecodable event body: {exc}")
            del data["body"]
        return TapMessage(node, topic, data)

    def summary(self, message: TapMessage) -> str:
        """One line for a person: seq and the event's own fields first."""
        if message.data is None:
            return message.error
        data = message.data
        if data.get("t") == envelope.EVENT:
            fields = data.get("data") or {}
            shown = " ".join(f"{k}={v}" for k, v in fields.items() if v not in (None, "", [], {}))
            return f"seq={data.get('seq')} {shown}"[:300]
        rest = {k: v for k, v in data.items() if k not in ("v", "t")}
        return " ".join(f"{k}={v}" for k, v in rest.items())[:300]

    def close(self) -> None:
        for sock in self._socks:
            sock.close(linger=0)


def _as_single(event: Event) -> dict[str, Any]:
    """An event of a batch in the fields a one-event message has."""
    return envelope.decode(published.encode_event(event))
