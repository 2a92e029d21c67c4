"""Claude Code as a session source: ``sessions/<pid>.json`` plus the transcripts.

Strategy for a cheap pass: a session file is parsed again only when its size
or mtime changed, its process is probed in ``/proc`` every few seconds, and a
transcript is opened only when its size, mtime or inode changed; otherwise the
previous pass's facts stand. So a pass over a thousand quiet sessions costs
about two thousand ``stat`` calls, not a thousand reads. A transcript is read
from the offset where the last pass stopped (``TranscriptFollower``), and its
partial last line waits.

A session whose file disappears (a clean exit) or outlived its process (a
crash, a reused pid) is reported once more as ``ended``, after a last read of
its transcript, and then forgotten.

Builds that write no session file (before 2.1, the Agent SDK) are read from
the files Clare's hook writes in their place (``hooked_dir``, see
:mod:`clare.sessions.hooked`), the same way; a process with a session file of
its own is read from that. Their status comes from the hooks alone (the
observation leaves it unknown), and once their process is gone the source
removes their file itself: no Claude Code will.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clare.sessions.claude_home import sessions_dir, transcript_path
from clare.sessions.git_head import HeadWatch
from clare.sessions.session_file import (
    Liveness,
    MalformedSessionFile,
    ProcessProbe,
    SessionFile,
    check_liveness,
    parse_session_file,
)
from clare.sessions.source import Observation, ScanResult
from clare.sessions.transcript_follow import TranscriptFollower

#: Models one session's usage is kept for (a session uses one or a few).
MAX_MODELS = 16
NAME = "claude-code"
#: Prefix of the tracking keys of files from ``hooked_dir``.
HOOKED = "hooked/"
#: How often a quiet session file's process is checked again. A clean exit removes
#: the file (noticed on the next pass); only a crash waits for this re-check.
LIVENESS_EVERY_MS = 5_000


@dataclass
class _Tracked:
    """One session file and what was learnt from it and its transcript."""

    file_stamp: tuple[int, int]  # (size, mtime_ns) of the session file
    session: SessionFile
    follower: TranscriptFollower
    transcript_stamp: tuple[int, int, int] = (0, 0, 0)  # (inode, size, mtime_ns)
    liveness: Liveness | None = None
    checked_at_ms: int = 0
    head: HeadWatch | None = None  # the cwd's git HEAD, for the branch before any prompt


class ClaudeCodeSource:
    """Reads one Claude Code folder (``~/.claude`` or ``$CLAUDE_CONFIG_DIR``)."""

    name = NAME

    def __init__(
        self, claude_dir: Path, probe: ProcessProbe | None = None, hooked_dir: Path | None = None
    ) -> None:
        self.claude_dir = claude_dir
        self.hooked_dir = hooked_dir
        self._probe = probe
        # By file name (<pid>.json), with HOOKED before the names from hooked_dir.
        self._tracked: dict[str, _Tracked] = {}
        self._saved_followers: dict[str, dict[str, Any]] = {}  # by session id, from restore()

    # -- scanning ------------------------------------------------------------------------

    def scan(self, now_ms: int) -> ScanResult:
        result = ScanResult()
        folder = sessions_dir(self.claude_dir)
        try:
            entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
        except FileNotFoundError:
            entries = []  # Claude Code has not run here yet
        except OSError as exc:
            result.complete = False
            result.problems.append(f"cannot list {folder}: {exc}")
            return result
        seen: set[str] = set()
        for entry in entries:
            seen.add(entry.name)
            observation = self._scan_file(entry.name, entry, result, now_ms)
            if observation is not None:
                result.observations.append(observation)
        for entry in self._hooked_entries(result):
            if entry.name in seen:
                continue  # Claude Code's own file for this process says more
            seen.add(HOOKED + entry.name)
            observation = self._scan_file(HOOKED + entry.name, entry, result, now_ms)
            if observation is not None:
                result.observations.append(observation)
        for name in [n for n in self._tracked if n not in seen]:
            result.observations.append(self._ended(self._tracked.pop(name), result))
        # Saved cursors not claimed by a session file now belong to sessions that
        # ended while the poller was down: nothing will read them again.
        self._saved_followers.clear()
        return result

    def _hooked_entries(self, result: ScanResult) -> list[os.DirEntry[str]]:
        if self.hooked_dir is None:
            return []
        try:
            return [
                e
                for e in os.scandir(self.hooked_dir)
                if e.name.endswith(".json") and not e.name.startswith(".")
            ]
        except FileNotFoundError:
            return []  # no hook has run here yet
        except OSError as exc:
            result.complete = False
            result.problems.append(f"cannot list {self.hooked_dir}: {exc}")
            return []

    def _scan_file(
        self, key: str, entry: os.DirEntry[str], result: ScanResult, now_ms: int
    ) -> Observation | None:
        tracked = self._tracked.get(key)
        try:
            st = entry.stat()
        except OSError:
            return None  # removed between listing and stat: next pass reports the end
        stamp = (st.st_size, st.st_mtime_ns)
        if tracked is None or tracked.file_stamp != stamp:
            try:
                with open(entry.path, "rb") as f:
                    session = parse_session_file(f.read())
            except MalformedSessionFile:
                result.skip("malformed session file")  # maybe half written: try next pass
                return None
            except OSError:
                result.skip("unreadable session file")
                return None
            if tracked is None or tracked.session.session_id != session.session_id:
                if tracked is not None:
                    # The process went on with another session (``/clear``): the old
                    # one is over.
                    result.observations.append(self._ended(tracked, result))
                tracked = _Tracked(stamp, session, self._follower(session))
                self._tracked[key] = tracked
            else:
                tracked.file_stamp, tracked.session = stamp, session
                tracked.liveness = None
        # A session known from its hooks has no file that a clean exit removes: its
        # process is its only sign of life, checked on every pass (they are few).
        every_ms = 0 if key.startswith(HOOKED) else LIVENESS_EVERY_MS
        if tracked.liveness is None or now_ms - tracked.checked_at_ms >= every_ms:
            tracked.liveness = check_liveness(tracked.session, self._probe)
            tracked.checked_at_ms = now_ms
        liveness = tracked.liveness
        if liveness is Liveness.FOREIGN:
            del self._tracked[key]
            result.skip("session file of another machine")
            return None
        if liveness is not Liveness.LIVE and key.startswith(HOOKED):
            # Nothing but this source removes what the hook wrote.
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
            return self._ended(self._tracked.pop(key), result)
        if liveness is not Liveness.LIVE:
            # A crash left the file behind: the session is over. It stays tracked
            # (and reported as ended, which the core ignores once known) until
            # the file goes, so it is not re-read from scratch on every pass.
            return replace(self._observe(tracked, result), status="ended", waiting_for="")
        return self._observe(tracked, result)

    def _follower(self, session: SessionFile) -> TranscriptFollower:
        if session.transcript_path:
            path = Path(session.transcript_path)
        else:
            path = transcript_path(self.claude_dir, session.cwd, session.session_id)
        saved = self._saved_followers.pop(session.session_id, None)
        if saved is not None and saved.get("path") == str(path):
            try:
                return TranscriptFollower.from_dict(saved)
            except ValueError:
                pass
        return TranscriptFollower(path)

    def _read_transcript(self, tracked: _Tracked, result: ScanResult) -> None:
        try:
            st = os.stat(tracked.follower.path)
        except FileNotFoundError:
            return  # no prompt yet: Claude Code creates the transcript lazily
        except OSError:
            result.skip("unreadable transcript")
            return
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == tracked.transcript_stamp:
            return
        before = tracked.follower.summary
        garbage, unknown = before.garbage_lines, before.unknown_lines
        try:
            polled = tracked.follower.poll()
        except OSError:
            result.skip("unreadable transcript")
            return
        tracked.transcript_stamp = stamp
        result.bytes_read += polled.bytes_read
        summary = tracked.follower.summary
        if polled.restarted is not None:
            garbage = unknown = 0
        if summary.garbage_lines > garbage:
            result.skip("garbage transcript line", summary.garbage_lines - garbage)
        if summary.unknown_lines > unknown:
            result.skip("unknown transcript record", summary.unknown_lines - unknown)

    def _observe(self, tracked: _Tracked, result: ScanResult) -> Observation:
        self._read_transcript(tracked, result)
        session, summary = tracked.session, tracked.follower.summary
        cwd = summary.cwd or session.cwd
        if tracked.head is None or tracked.head.cwd != cwd:
            tracked.head = HeadWatch(cwd)
        usage = summary.usage
        last = max(summary.last_activity_ms or 0, session.updated_at_ms or 0)
        return Observation(
            session=session.session_id,
            source=NAME,
            pid=session.pid,
            name=session.name or summary.agent_name or "",
            cwd=cwd,
            # HEAD is the branch now; the transcript only says what it was at the last
            # prompt, and has nothing before the first.
            branch=tracked.head.branch() or summary.git_branch or "",
            status="" if session.status == "unknown" else session.status,
            waiting_for=(session.waiting_for or "") if session.status == "waiting" else "",
            version=session.version or summary.version or "",
            model=summary.model or "",
            title=summary.title or "",
            first_prompt=(summary.first_prompt or "")[:500],
            started_at=session.started_at_ms or summary.started_at_ms or 0,
            last_activity=last,
            tokens_in=usage.input_tokens + usage.cache_creation_input_tokens,
            tokens_out=usage.output_tokens,
            tmux_pane=session.tmux_pane or "",
            transcript=str(tracked.follower.path),
            kind=session.kind or "",
            job_id=session.job_id or "",
            permission_mode=summary.permission_mode or "",
            usage=summary.usage_counts(MAX_MODELS),
        )

    def _ended(self, tracked: _Tracked, result: ScanResult) -> Observation:
        tracked.transcript_stamp = (0, 0, 0)  # one last full look at the transcript
        return replace(self._observe(tracked, result), status="ended", waiting_for="")

    def watch_folders(self) -> set[Path]:
        """Where a change means a pass is due: the session files (Claude Code's and the
        hook's), and the transcript folder of every session being followed."""
        folders = {sessions_dir(self.claude_dir)}
        if self.hooked_dir is not None:
            folders.add(self.hooked_dir)
        folders.update(t.follower.path.parent for t in self._tracked.values())
        return folders

    # -- persistence ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        followers = dict(self._saved_followers)
        for tracked in self._tracked.values():
            followers[tracked.session.session_id] = tracked.follower.to_dict()
        return {"followers": followers}

    def restore(self, state: dict[str, Any]) -> None:
        followers = state.get("followers") if isinstance(state, dict) else None
        if isinstance(followers, dict):
            self._saved_followers = {
                k: v for k, v in followers.items() if isinstance(k, str) and isinstance(v, dict)
            }
