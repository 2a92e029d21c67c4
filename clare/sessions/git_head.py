"""A working folder's git branch, read from ``HEAD`` itself: no git process, one ``stat`` a pass.

A new Claude Code session writes its branch into the transcript only with its
first prompt, and a checkout in the middle of a session shows there only with
the next one. The branch is in the repository's ``HEAD`` all along:
``ref: refs/heads/<branch>``, or a commit id when detached (shown as ``HEAD``,
as Claude Code does). In a linked worktree or a submodule ``.git`` is a file
``gitdir: <path>`` naming the folder that holds its ``HEAD``.

:class:`HeadWatch` finds that ``HEAD`` once and re-reads it only when its
``stat`` changes, so following a thousand quiet sessions costs a thousand
``stat`` calls.
"""

from __future__ import annotations

import os

MAX_DEPTH = 64
_REF = "ref: refs/heads/"


def find_head(cwd: str) -> str | None:
    """The ``HEAD`` file of the repository holding ``cwd``, or None outside one."""
    folder = os.path.abspath(cwd) if cwd else ""
    for _ in range(MAX_DEPTH):
        if not folder:
            return None
        dot_git = os.path.join(folder, ".git")
        if os.path.isdir(dot_git):
            return os.path.join(dot_git, "HEAD")
        if os.path.isfile(dot_git):
            try:
                with open(dot_git, encoding="utf-8", errors="replace") as f:
                    line = f.read(4096).strip()
            except OSError:
                return None
            if not line.startswith("gitdir:"):
                return None
            target = line.removeprefix("gitdir:").strip()
            return os.path.join(os.path.normpath(os.path.join(folder, target)), "HEAD")
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    return None


def parse_head(text: str) -> str:
    """The branch a ``HEAD`` file names; ``HEAD`` when detached, "" when unreadable."""
    text = text.strip()
    if text.startswith(_REF):
        return text.removeprefix(_REF)
    if text.startswith("ref: "):
        return text.removeprefix("ref: ")  # a ref outside refs/heads: say which
    is_commit = len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
    return "HEAD" if is_commit else ""


class HeadWatch:
    """The branch of one working folder, kept current by ``stat``-ing its ``HEAD``."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd
        self.head = find_head(cwd)
        self._stamp: tuple[int, int, int] | None = None
        self._branch = ""

    def branch(self) -> str:
        """The branch now; "" outside a repository or when ``HEAD`` cannot be read."""
        if self.head is None:
            return ""
        try:
            st = os.stat(self.head)
        except OSError:
            self._stamp, self._branch = None, ""
            return ""
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp != self._stamp:
            try:
                with open(self.head, encoding="utf-8", errors="replace") as f:
                    self._branch = parse_head(f.read(4096))
            except OSError:
                return ""
            self._stamp = stamp
        return self._branch
