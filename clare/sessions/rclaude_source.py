"""rclaude as a session source: a configured command that prints sessions as JSON lines.

rclaude is a private wrapper around Claude Code; no public tool by that name
exists, so Clare fixes the contract instead (docs/sessions.md has it in full):

- ``[sessions] rclaude_command`` in ``clare.toml`` is a command line, split like
  a shell would (no shell runs it). Each pass Clare runs it and reads stdout: one
  JSON object per line, one line per session, with at least ``"id"``.
- Before the first pass Clare runs the command's program with ``--version``. If
  that program is missing or the check fails, the source says so once (a
  problem in the scan result, which the poller logs) and reports nothing; it
  checks again every ``recheck_s`` seconds, quietly, and says when it works.
- A non-zero exit or a timeout makes the scan incomplete: its sessions are
  not taken for ended on that account. Lines that are not such objects are
  skipped and counted.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import Any

from clare.core.ids import MAX_SESSION_ID
from clare.sessions.source import STATUSES, Observation, ScanResult
from clare.sessions.transcript import parse_timestamp_ms

NAME = "rclaude"
_TEXT_FIELDS = ("name", "cwd", "branch", "waiting_for", "version", "model", "title", "tmux_pane")
_INT_FIELDS = ("pid", "tokens_in", "tokens_out")


class RclaudeSource:
    """Runs ``command`` each pass and turns its JSON lines into observations."""

    name = NAME

    def __init__(self, command: str, *, timeout_s: float = 10.0, recheck_s: float = 300.0) -> None:
        self.command = command
        self.timeout_s = timeout_s
        self.recheck_s = recheck_s
        self._usable: bool | None = None  # None: not checked yet
        self._checked_at_ms = 0

    def _argv(self) -> list[str]:
        try:
            return shlex.split(self.command)
        except ValueError as exc:
            raise _Unusable(f"rclaude_command {self.command!r} cannot be split: {exc}") from exc

    def check(self) -> None:
        """Raise ``_Unusable`` with a sentence saying why the command cannot be used."""
        argv = self._argv()
        if not argv:
            raise _Unusable("rclaude_command is empty")
        try:
            done = subprocess.run(
                [argv[0], "--version"], capture_output=True, timeout=self.timeout_s, check=False
            )
        except FileNotFoundError as exc:
            raise _Unusable(
                f"rclaude is configured ([sessions] rclaude_command = {self.command!r}) but "
                f"{argv[0]!r} is not installed or not on PATH"
            ) from exc
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise _Unusable(f"`{argv[0]} --version` failed: {exc}") from exc
        if done.returncode != 0:
            err = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise _Unusable(f"`{argv[0]} --version` exited {done.returncode}: {err}")

    def scan(self, now_ms: int) -> ScanResult:
        result = ScanResult()
        due = now_ms - self._checked_at_ms >= self.recheck_s * 1000
        if self._usable is None or (self._usable is False and due):
            was = self._usable
            self._checked_at_ms = now_ms
            try:
                self.check()
                self._usable = True
                if was is False:
                    result.problems.append("rclaude works again")
            except _Unusable as exc:
                if was is None:  # say it once, not on every re-check
                    result.problems.append(f"{exc}; rclaude sessions are not followed")
                self._usable = False
        if not self._usable:
            result.complete = False
            return result
        try:
            done = subprocess.run(
                self._argv(), capture_output=True, timeout=self.timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired, _Unusable) as exc:
            result.complete = False
            result.problems.append(f"rclaude command failed: {exc}")
            return result
        if done.returncode != 0:
            result.complete = False
            err = done.stderr.decode("utf-8", "replace").strip()[-300:]
            result.problems.append(f"rclaude command exited {done.returncode}: {err}")
        result.bytes_read = len(done.stdout)
        for line in done.stdout.splitlines():
            if not line.strip():
                continue
            observation = parse_line(line)
            if observation is None:
                result.skip("bad rclaude line")
            else:
                result.observations.append(observation)
        return result

    def state(self) -> dict[str, Any]:
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        return None


class _Unusable(Exception):
    """The rclaude command cannot be run (a configuration problem, said once)."""


def parse_line(line: bytes | str) -> Observation | None:
    """One rclaude JSON line as an observation, or None when it is not a session object."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    session = obj.get("id")
    if not isinstance(session, str) or not session or len(session) > MAX_SESSION_ID:
        return None
    fields: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = obj.get(name)
        if isinstance(value, str):
            fields[name] = value[:4096]
    for name in _INT_FIELDS:
        value = obj.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            fields[name] = value
    status = obj.get("status")
    fields["status"] = status if status in STATUSES else ""
    if fields["status"] != "waiting":
        fields.pop("waiting_for", None)
    for name in ("started_at", "last_activity"):
        fields[name] = _ms(obj.get(name))
    prompt = obj.get("first_prompt")
    if isinstance(prompt, str):
        fields["first_prompt"] = prompt[:500]
    return Observation(session=session, source=NAME, **fields)


def _ms(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return parse_timestamp_ms(value) or 0
