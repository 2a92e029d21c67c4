"""What the query modules share: a stamp (an HLC or milliseconds) as an ISO 8601 time.

The ``clare.store.queries_*`` modules read the views for the CLI and the page,
rows in, plain dicts with stable field names out. These dicts are the JSON
contract of ``--json`` and of ``/api/v1``: rename a field and every script that
reads it breaks, so add fields, never rename them.
"""

from __future__ import annotations

import datetime as dt

from clare.core import hlc


def iso(stamp_or_ms: int, *, is_hlc: bool = True) -> str | None:
    if not stamp_or_ms:
        return None
    ms = hlc.unpack(stamp_or_ms)[0] if is_hlc else stamp_or_ms
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
