"""Where Claude Code keeps its files on this machine.

Claude Code roots everything in ``~/.claude`` unless ``CLAUDE_CONFIG_DIR`` moves
it. Under that folder, ``sessions/<pid>.json`` describes each running process
and ``projects/<folder>/<sessionId>.jsonl`` holds the transcripts, where
``<folder>`` is the session's cwd with every character outside A-Z a-z 0-9
replaced by ``-``.

Nothing here touches the disk: the environment and the home folder are passed
in, so a test (or a poller watching another user's files) says which ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CONFIG_DIR_ENV",
    "claude_dir",
    "project_folder_name",
    "projects_dir",
    "session_file_path",
    "sessions_dir",
    "transcript_path",
]

#: The variable that moves Claude Code's folder away from ``~/.claude``.
CONFIG_DIR_ENV = "CLAUDE_CONFIG_DIR"

# Claude Code cuts longer folder names and appends a hash of the full cwd, so
# two deep paths that share their first 200 characters still differ.
_MAX_FOLDER_NAME = 200


def claude_dir(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Claude Code's own folder: ``$CLAUDE_CONFIG_DIR`` if set and not empty, else ``~/.claude``.

    ``env`` defaults to ``os.environ`` and ``home`` to the current user's home.
    """
    env = os.environ if env is None else env
    configured = env.get(CONFIG_DIR_ENV, "")
    if configured:
        return Path(configured).expanduser()
    return (Path.home() if home is None else home) / ".claude"


def sessions_dir(claude: Path) -> Path:
    """The folder of ``<pid>.json`` files, one per running Claude Code process."""
    return claude / "sessions"


def projects_dir(claude: Path) -> Path:
    """The folder holding one transcript folder per working directory."""
    return claude / "projects"


def session_file_path(claude: Path, pid: int) -> Path:
    """The session file a Claude Code process with this pid writes."""
    return sessions_dir(claude) / f"{pid}.json"


def project_folder_name(cwd: str) -> str:
    """The transcript folder name Claude Code derives from a working directory.

    Every character outside A-Z a-z 0-9 becomes ``-`` (so ``/home/dev/beta web``
    gives ``-home-dev-beta-web``). Characters are counted as JavaScript does, in
    UTF-16 code units, because that is what Claude Code's replace sees: one
    emoji becomes two dashes.
    """
    units = cwd.encode("utf-16-le")
    out = []
    for i in range(0, len(units), 2):
        code = units[i] | (units[i + 1] << 8)
        out.append(chr(code) if code < 0x80 and chr(code).isalnum() else "-")
    name = "".join(out)
    if len(name) <= _MAX_FOLDER_NAME:
        return name
    return f"{name[:_MAX_FOLDER_NAME]}-{_base36(abs(_java_string_hash(units)))}"


def transcript_path(claude: Path, cwd: str, session_id: str) -> Path:
    """The JSONL transcript of a session started in ``cwd``."""
    return projects_dir(claude) / project_folder_name(cwd) / f"{session_id}.jsonl"


def _java_string_hash(utf16le: bytes) -> int:
    """``h = 31*h + unit`` over UTF-16 code units, wrapped to a signed 32-bit int."""
    h = 0
    for i in range(0, len(utf16le), 2):
        h = (h * 31 + (utf16le[i] | (utf16le[i + 1] << 8))) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(digits[r])
    return "".join(reversed(out))
