"""Follow one transcript file as it grows, reading only the new bytes.

A :class:`TranscriptCursor` remembers which file was read (device and inode)
and how far (the end of the last complete line). Before each read the cursor
is checked against the file as it is now; the reader starts over from byte 0,
and says why, when the file was

- replaced (another inode: a rewrite through a temporary file, or a new file),
- truncated (shorter than the offset), or
- rewritten in place (Claude Code can rewrite a transcript in place): noticed
  when the first bytes of the file or the last ones before the offset changed.
  That is a fingerprint, not proof; a rewrite that keeps both is missed.

Starting over resets the summary as well, so nothing is counted twice. The
cursor and the summary together are plain data (:meth:`TranscriptFollower.to_dict`),
so a poller can store them and carry on after a restart of its own.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clare.sessions.transcript import TranscriptParser
from clare.sessions.transcript_summary import TranscriptSummary

if TYPE_CHECKING:
    from clare.sessions.transcript import Record

__all__ = [
    "PollResult",
    "TranscriptCursor",
    "TranscriptFollower",
    "fingerprint",
    "read_fingerprint",
    "restart_reason",
]

# How many bytes at the start of the file and before the offset are fingerprinted
# to notice in-place rewrites: a line's unique uuid and timestamp sit near its
# start, so the tail alone would often miss a rewrite.
_HEAD_BYTES = 256
_TAIL_BYTES = 1024
_READ_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class TranscriptCursor:
    """How far one file has been read: ``offset`` is the end of the last complete line."""

    path: str
    dev: int
    inode: int
    size: int
    offset: int
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PollResult:
    """What one poll found: new records, and why reading started over if it did."""

    records: list[Record]
    restarted: str | None
    bytes_read: int


def fingerprint(head: bytes, tail: bytes) -> str:
    """Digest of the bytes a cursor compares to notice a file rewritten in place."""
    h = hashlib.blake2b(digest_size=8)
    h.update(len(head).to_bytes(4, "big"))
    h.update(head)
    h.update(tail)
    return h.hexdigest()


def read_fingerprint(fd: int, offset: int) -> str:
    """The fingerprint of an open file read up to ``offset``."""
    head = os.pread(fd, min(_HEAD_BYTES, offset), 0)
    start = max(offset - _TAIL_BYTES, len(head))
    return fingerprint(head, os.pread(fd, offset - start, start) if offset > start else b"")


def restart_reason(
    cursor: TranscriptCursor, *, dev: int, inode: int, size: int, fingerprint: str
) -> str | None:
    """Why a cursor no longer fits the file (``replaced``, ``truncated``, ``rewritten``), or None.

    ``fingerprint`` is :func:`read_fingerprint` of the file now, at the cursor's offset.
    """
    if (dev, inode) != (cursor.dev, cursor.inode):
        return "replaced"
    if size < cursor.offset:
        return "truncated"
    if fingerprint != cursor.fingerprint:
        return "rewritten"
    return None


class TranscriptFollower:
    """Reads a transcript incrementally into a :class:`TranscriptSummary`.

    Not thread-safe; a poller owns one per file. The file is opened anew on each
    poll, so a follower holds no descriptor between polls.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        cursor: TranscriptCursor | None = None,
        summary: TranscriptSummary | None = None,
    ) -> None:
        self.path = Path(path)
        self._cursor = cursor
        self.summary = TranscriptSummary() if summary is None else summary
        self._parser = TranscriptParser(0 if cursor is None else cursor.offset)

    @property
    def cursor(self) -> TranscriptCursor | None:
        """Where the last poll stopped, or None before the first poll."""
        return self._cursor

    def poll(self, max_bytes: int = 64 << 20) -> PollResult:
        """Read what was appended since the last poll (at most about ``max_bytes``).

        Raises ``OSError`` (``FileNotFoundError`` ...) if the file cannot be read;
        the cursor is then left as it was.
        """
        restarted: str | None = None
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            cursor = self._cursor
            if cursor is not None:
                restarted = restart_reason(
                    cursor,
                    dev=st.st_dev,
                    inode=st.st_ino,
                    size=st.st_size,
                    fingerprint=read_fingerprint(f.fileno(), min(cursor.offset, st.st_size)),
                )
                if restarted is not None:
                    self._parser = TranscriptParser(0)
                    self.summary = TranscriptSummary()
            position = self._parser.offset + self._parser.pending_bytes
            records: list[Record] = []
            read = 0
            while read < max_bytes:
                wanted = min(_READ_BLOCK, max_bytes - read)
                block = os.pread(f.fileno(), wanted, position)
                read += len(block)
                position += len(block)
                records.extend(self._parser.feed(block))
                if len(block) < wanted:
                    break
            offset = self._parser.offset
            mark = read_fingerprint(f.fileno(), offset)
        self.summary.add_all(records)
        self._cursor = TranscriptCursor(
            path=str(self.path),
            dev=st.st_dev,
            inode=st.st_ino,
            size=max(st.st_size, position),
            offset=offset,
            fingerprint=mark,
        )
        return PollResult(records, restarted, read)

    def to_dict(self) -> dict[str, Any]:
        """Cursor and summary as plain data (a partial last line is re-read after a reload)."""
        c = self._cursor
        return {
            "path": str(self.path),
            "cursor": None
            if c is None
            else {
                "path": c.path,
                "dev": c.dev,
                "inode": c.inode,
                "size": c.size,
                "offset": c.offset,
                "fingerprint": c.fingerprint,
            },
            "summary": self.summary.to_dict(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> TranscriptFollower:
        """Rebuild a follower saved by :meth:`to_dict`; ``ValueError`` if the state is unusable."""
        try:
            path = str(state["path"])
            summary = TranscriptSummary.from_dict(state["summary"])
            raw = state["cursor"]
            if raw is None:
                return cls(path, summary=summary)
            cursor = TranscriptCursor(
                path=str(raw["path"]),
                dev=int(raw["dev"]),
                inode=int(raw["inode"]),
                size=int(raw["size"]),
                offset=int(raw["offset"]),
                fingerprint=str(raw["fingerprint"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed transcript follower state: {exc!r}") from exc
        return cls(path, cursor=cursor, summary=summary)
