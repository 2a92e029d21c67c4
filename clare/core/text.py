"""Stored text made fit to show: control characters escaped, stamps shortened.

Shared by the CLI (a terminal) and the web page (which escapes HTML on top).
"""

from __future__ import annotations

# Control characters in stored text (a title, a note, a message from a peer)
# would reach the person's terminal as escape sequences; shown escaped instead.
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}


def safe(text: str) -> str:
    """Text with control characters escaped, fit to print on a terminal."""
    return text.translate(_CONTROLS)


def short_time(iso: str | None) -> str:
    """An ISO stamp as ``YYYY-MM-DD HH:MM:SS``; ``-`` for none."""
    if not iso:
        return "-"
    return iso.replace("T", " ")[:19]
