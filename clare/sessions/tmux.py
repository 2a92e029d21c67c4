"""Typing a message into an idle session's tmux pane, and seeing it arrive.

``clare broadcast --now`` uses this for sessions that run in tmux (Claude
Code's session file names the pane) and sit idle at their prompt. The text
goes in as a bracketed paste (``paste-buffer -p``), so newlines in it do not
submit early and the program sees pasted text, not keystrokes; one Enter then
submits it. Typing proves nothing, so delivery is confirmed only when the
session's transcript shows a prompt holding the message's id.

Typing sits behind :class:`PaneTyper`, so the confirmation logic is tested
without tmux and the tmux part with a real tmux server on its own socket.
"""

from __future__ import annotations

import os
import subprocess
import time
from typing import TYPE_CHECKING, Protocol

from clare.core.errors import ServiceUnavailable, UsageError
from clare.sessions.transcript import TranscriptParser, UserRecord
from clare.sessions.transcript_wait import transcript_end, wait_for

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


class PaneTyper(Protocol):
    def type_text(self, pane: str, text: str) -> None:
        """Paste ``text`` into ``pane`` and submit it; raise ``ServiceUnavailable`` if it cannot."""
        ...


def pane_target(tmux_field: str) -> str:
    """The tmux target of Claude Code's ``tmux`` field (``session:@window.%pane`` -> ``%pane``)."""
    _, sep, pane = tmux_field.rpartition("%")
    return f"%{pane}" if sep and pane.isdigit() else tmux_field


def pasteable(text: str) -> str:
    """``text`` without control characters but newline and tab.

    An ESC in a message could end the bracketed paste early (``ESC [ 201 ~``), and
    whatever followed would reach the program as keystrokes, a carriage return
    submitting it.
    """
    return "".join(
        ch for ch in text if ch in "\n\t" or not (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0)
    )


class TmuxTyper:
    """Types through the ``tmux`` command; ``socket_name`` is tmux's ``-L`` (default server)."""

    def __init__(self, tmux: str = "tmux", *, socket_name: str | None = None) -> None:
        self._base = [tmux, *(["-L", socket_name] if socket_name else [])]

    def _run(self, *args: str, stdin: bytes | None = None) -> None:
        try:
            done = subprocess.run(
                [*self._base, *args], input=stdin, capture_output=True, timeout=5, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceUnavailable(f"cannot run tmux: {exc}") from exc
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()
            raise ServiceUnavailable(f"tmux {args[0]} failed: {err}")

    def type_text(self, pane: str, text: str) -> None:
        buffer = f"clare-{os.getpid()}"
        target = pane_target(pane)
        self._run("load-buffer", "-b", buffer, "-", stdin=pasteable(text).encode())
        # -p: bracketed paste, if the program asked for it; -d: delete the buffer after.
        self._run("paste-buffer", "-p", "-d", "-b", buffer, "-t", target)
        self._run("send-keys", "-t", target, "Enter")


def wait_for_prompt(
    path: Path,
    needle: str,
    *,
    offset: int,
    timeout_s: float,
    poll_s: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Whether a prompt holding ``needle`` is written to ``path`` past ``offset`` in time."""
    parser = TranscriptParser(offset)

    def found(data: bytes) -> bool:
        for record in parser.feed(data):
            if isinstance(record, UserRecord) and record.prompt and needle in record.prompt:
                return True
        return False

    return wait_for(
        path, found, offset=offset, timeout_s=timeout_s, poll_s=poll_s, clock=clock, sleep=sleep
    )


def deliver_to_pane(
    typer: PaneTyper,
    pane: str,
    transcript: Path,
    text: str,
    needle: str,
    *,
    timeout_s: float = 10.0,
) -> bool:
    """Type ``text`` into ``pane`` and wait for ``needle`` in a new prompt of ``transcript``."""
    if not pane:
        raise UsageError("the session does not run in tmux")
    start = transcript_end(transcript)
    typer.type_text(pane, text)
    return wait_for_prompt(transcript, needle, offset=start, timeout_s=timeout_s)
