"""What a session's work on a task produced, read from git's output. Pure: text in, a record out.

The git commands themselves run in ``clare.app.work`` (a subprocess with a
timeout, on the session's host); this module only parses what they print and
bounds it, so that one record never outgrows an event: at most
``MAX_COMMITS`` commits and ``MAX_FILES`` changed files are kept, with the
totals beside them so a reader knows how many were left out.

A record travels in ``TaskWorkRecorded`` as lines in git's own formats, which
are plain text and unambiguous: a commit is ``<hash> <subject>`` (a hash has no
space), a changed file is a ``--numstat`` line ``<added>\\t<deleted>\\t<path>``
(``-`` for a binary file's counts), an uncommitted change is a ``--porcelain``
status line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_COMMITS = 100
MAX_FILES = 200
MAX_UNCOMMITTED = 100
MAX_SUBJECT = 200
MAX_PATH = 1024
#: The separator ``git log --format=%H%x1f%s`` puts between a hash and its subject.
UNIT_SEPARATOR = "\x1f"


@dataclass(frozen=True)
class FileChange:
    path: str
    added: int | None  # None: a binary file, whose lines git does not count
    deleted: int | None

    def line(self) -> str:
        def count(n: int | None) -> str:
            return "-" if n is None else str(n)

        return f"{count(self.added)}\t{count(self.deleted)}\t{self.path}"


@dataclass(frozen=True)
class WorkRecord:
    """A folder's git state at the moment a session finished its task."""

    cwd: str
    branch: str = ""
    base: str = ""  # the branch the work started from, as named ("main", "origin/main")
    base_commit: str = ""
    head: str = ""
    commits: tuple[tuple[str, str], ...] = ()  # (hash, subject), newest first
    commits_total: int = 0
    files: tuple[FileChange, ...] = ()
    files_total: int = 0
    uncommitted: tuple[str, ...] = ()  # porcelain status lines
    pr_url: str = ""
    problem: str = ""  # why part of it could not be read ("" when all went well)

    def to_args(self) -> dict[str, Any]:
        """The plain map ``task.finish`` takes as its ``work`` argument."""
        return {
            "cwd": self.cwd,
            "branch": self.branch,
            "base": self.base,
            "base_commit": self.base_commit,
            "head": self.head,
            "commits": [f"{h} {s}" for h, s in self.commits],
            "commits_total": self.commits_total,
            "files": [f.line() for f in self.files],
            "files_total": self.files_total,
            "uncommitted": list(self.uncommitted),
            "pr_url": self.pr_url,
            "problem": self.problem,
        }


def parse_log(text: str) -> tuple[tuple[str, str], ...]:
    """``git log --format=%H%x1f%s`` output: (hash, subject) pairs, at most MAX_COMMITS."""
    out = []
    for line in text.splitlines():
        commit, sep, subject = line.partition(UNIT_SEPARATOR)
        commit = commit.strip()
        if not sep or not commit or not all(c in "0123456789abcdef" for c in commit):
            continue
        out.append((commit, _one_line(subject)[:MAX_SUBJECT]))
        if len(out) == MAX_COMMITS:
            break
    return tuple(out)


def parse_numstat(text: str) -> tuple[FileChange, ...]:
    """``git diff --numstat`` output, at most MAX_FILES files."""
    out = []
    for line in text.splitlines():
        parts = line.split("\t", 2)
        if len(parts) != 3 or not parts[2]:
            continue
        added, deleted = _count(parts[0]), _count(parts[1])
        if added == -1 or deleted == -1:
            continue
        out.append(FileChange(parts[2][:MAX_PATH], added, deleted))
        if len(out) == MAX_FILES:
            break
    return tuple(out)


def parse_file_line(line: str) -> FileChange | None:
    """One numstat line as a record carries it, back into a FileChange."""
    found = parse_numstat(line)
    return found[0] if found else None


def parse_commit_line(line: str) -> tuple[str, str]:
    commit, _, subject = line.partition(" ")
    return commit, subject


def parse_porcelain(text: str) -> tuple[str, ...]:
    """``git status --porcelain`` lines (the status and the path), at most MAX_UNCOMMITTED."""
    lines = [line[:MAX_PATH] for line in text.splitlines() if len(line) > 3]
    return tuple(lines[:MAX_UNCOMMITTED])


def parse_count(text: str) -> int:
    """``git rev-list --count`` output; 0 when it is not a number."""
    text = text.strip()
    return int(text) if text.isdigit() else 0


def pick_base(branch: str, candidates: list[str]) -> str:
    """The first candidate base (each one known to exist) that is not the branch itself.

    Work on ``main`` itself is measured from ``origin/main`` when there is one:
    what was not pushed yet.
    """
    for name in candidates:
        if name and name != branch:
            return name
    return ""


def _count(text: str) -> int | None:
    if text == "-":
        return None
    return int(text) if text.isdigit() else -1


def _one_line(text: str) -> str:
    return " ".join(text.split())
