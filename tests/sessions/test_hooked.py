from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from clare.sessions import hooked
from clare.sessions.session_file import read_session_file

if TYPE_CHECKING:
    from pathlib import Path


@dataclass
class Probe:
    cmdlines: dict[int, str] = field(default_factory=dict)

    def is_alive(self, pid: int) -> bool:
        return pid in self.cmdlines

    def start_ticks(self, pid: int) -> str | None:
        return "77" if pid in self.cmdlines else None

    def pid_domain(self) -> str | None:
        return "linux:abc:pid:[1]"

    def cmdline(self, pid: int) -> str | None:
        return self.cmdlines.get(pid)


# hook (python) -> /bin/sh -c -> claude (node) -> bash -> tmux
CHAIN = {50: 40, 40: 30, 30: 20, 20: 1}
PROBE = Probe({
    50: "/usr/bin/python3.11 /home/u/claude-tools/bin/clare hook Stop",
    40: "/bin/sh -c /home/u/claude-tools/bin/clare hook Stop",
    30: "node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js",
    20: "-bash",
})  # fmt: skip


def test_the_claude_code_process_is_found_up_the_chain() -> None:
    found = hooked.claude_pid({}, 50, parent_of=CHAIN.get, probe=PROBE)
    assert found == 30
    assert hooked.claude_pid({"CLAUDE_PID": "31"}, 50, parent_of=CHAIN.get, probe=PROBE) == 31
    assert hooked.claude_pid({}, 20, parent_of=CHAIN.get, probe=PROBE) is None


def test_parent_pid_reads_proc() -> None:
    assert hooked.parent_pid(os.getpid()) == os.getppid()
    assert hooked.parent_pid(2**30) is None


def test_record_writes_a_session_file_once_and_forget_drops_it(tmp_path: Path) -> None:
    folder = hooked.hooked_dir(tmp_path)
    assert hooked.record(folder, 30, "s1", "/w", "/t/s1.jsonl", 1000, PROBE)
    assert not hooked.record(folder, 30, "s1", "/w", "/t/s1.jsonl", 2000, PROBE)
    found = read_session_file(folder / "30.json")
    assert (found.pid, found.session_id, found.cwd, found.proc_start) == (30, "s1", "/w", "77")
    assert (found.transcript_path, found.started_at_ms) == ("/t/s1.jsonl", 1000)
    assert found.pid_domain == "linux:abc:pid:[1]"
    # /clear: the same process, a new session id
    assert hooked.record(folder, 30, "s2", "/w", "/t/s2.jsonl", 3000, PROBE)
    hooked.forget(folder, 30, "s1")  # the old session's end leaves the new one's file
    assert read_session_file(folder / "30.json").session_id == "s2"
    hooked.forget(folder, 30, "s2")
    assert not (folder / "30.json").exists()
    assert [p.name for p in folder.iterdir()] == []
    (folder / "31.json").write_text(json.dumps({"not": "a session"}))
    assert hooked.record(folder, 31, "s3", "/w", "", 1, PROBE)  # overwrites garbage
