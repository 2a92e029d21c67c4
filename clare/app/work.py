"""Reading a session's work from git in its folder: the I/O edge of ``clare.domain.work``.

Runs on the session's host, inside the session's folder, when the session
finishes its task (``clare done`` is run by the agent there). Each git command
runs with a timeout and its failure is recorded as a ``problem``, never
raised: a folder that is no repository, or a git that hangs, must not stop a
task from being finished. ``gh`` is asked for a pull request link only when it
is installed, and only with a short timeout; it is never required.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace

from clare.domain.work import (
    MAX_COMMITS,
    WorkRecord,
    parse_count,
    parse_log,
    parse_numstat,
    parse_porcelain,
    pick_base,
)

GIT_TIMEOUT_S = 5.0
GH_TIMEOUT_S = 5.0
#: Where the work is measured from, in this order: the remote's default branch, then
#: the usual names. The first one that exists and is not the branch itself wins.
BASE_CANDIDATES = ("origin/HEAD", "origin/main", "origin/master", "main", "master", "trunk")

#: Runs a command in a folder: (argv, cwd, timeout_s) -> stdout, or None when it failed.
Runner = Callable[[list[str], str, float], str | None]


def run(argv: list[str], cwd: str, timeout_s: float) -> str | None:
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout_s,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def read_work(
    cwd: str, *, runner: Runner = run, gh: bool = True, timeout_s: float = GIT_TIMEOUT_S
) -> WorkRecord:
    """The git record of the folder ``cwd``; a ``problem`` says what could not be read."""

    def git(*args: str) -> str | None:
        return runner(["git", *args], cwd, timeout_s)

    record = WorkRecord(cwd=cwd)
    top = git("rev-parse", "--show-toplevel")
    if top is None:
        return replace(record, problem="not a git repository (or git is missing or hung)")
    head = (git("rev-parse", "HEAD") or "").strip()
    branch = (git("rev-parse", "--abbrev-ref", "HEAD") or "").strip()
    record = replace(record, branch=branch, head=head)
    if not head:
        return replace(record, problem="the repository has no commit yet")
    existing = []
    for name in BASE_CANDIDATES:
        resolved = git("rev-parse", "--verify", "--quiet", "--abbrev-ref", name)
        if resolved is not None and resolved.strip():
            existing.append(resolved.strip())
    base = pick_base(branch, existing)
    base_commit = (git("merge-base", "HEAD", base) or "").strip() if base else ""
    if not base_commit:
        record = replace(record, base=base, problem="no base branch to compare the work with")
    else:
        span = f"{base_commit}..HEAD"
        log = git("log", "--format=%H%x1f%s", f"--max-count={MAX_COMMITS}", span) or ""
        numstat = git("diff", "--numstat", base_commit, "HEAD") or ""
        files = parse_numstat(numstat)
        record = replace(
            record,
            base=base,
            base_commit=base_commit,
            commits=parse_log(log),
            commits_total=parse_count(git("rev-list", "--count", span) or ""),
            files=files,
            files_total=max(len(files), sum(1 for line in numstat.splitlines() if line)),
        )
    status = git("status", "--porcelain")
    record = replace(record, uncommitted=parse_porcelain(status or ""))
    if gh and shutil.which("gh"):
        url = runner(["gh", "pr", "view", "--json", "url", "-q", ".url"], cwd, GH_TIMEOUT_S)
        if url and url.strip().startswith("https://"):
            record = replace(record, pr_url=url.strip()[:1000])
    return record
