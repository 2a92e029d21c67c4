"""The stored event: the one record every part of Clare agrees on.

``body`` stays msgpack bytes from the moment the writer encodes it: the store
keeps those bytes, sync ships them as they are, and only the code that needs
the fields (the projector, a reader) decodes them. Re-encoding could change
the bytes, and the bytes are what a host vouches for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack


@dataclass(frozen=True, slots=True)
class Event:
    """One row of the events table (see ARCHITECTURE invariant 6)."""

    seq: int  # local arrival order on this host (the row id); 0 before it is stored
    id: str  # uuid4, hex with dashes
    origin: str  # machine_id of the host that made it
    origin_seq: int  # 1, 2, 3 ... per origin, no gaps
    hlc: int  # hybrid logical clock stamp (clare.core.hlc)
    kind: str  # e.g. "TaskCreated"
    body: bytes  # msgpack map

    def data(self) -> dict[str, Any]:
        decoded = msgpack.unpackb(self.body, raw=False)
        if not isinstance(decoded, dict):
            raise ValueError(f"event {self.id} body is not a map")
        return decoded

    @property
    def order_key(self) -> tuple[int, str]:
        """The deterministic order every host agrees on (invariant 9)."""
        return (self.hlc, self.origin)


def encode_body(data: dict[str, Any]) -> bytes:
    return msgpack.packb(data, use_bin_type=True)
