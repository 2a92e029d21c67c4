"""Printing for people (aligned columns) and for programs (one JSON document)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

from clare.core.text import safe, short_time

__all__ = ["emit_json", "safe", "short_time", "table"]


def emit_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    if not rows:
        return
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    widths[-1] = 0  # the last column is not padded
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value) or "-"
    text = safe(str(value).replace("\n", " "))
    return text if len(text) <= 60 else text[:57] + "..."
