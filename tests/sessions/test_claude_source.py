from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import given, settings
from hypothesis import strategies as st

from clare.sessions import hooked
from clare.sessions.claude_home import transcript_path
from clare.sessions.claude_source import LIVENESS_EVERY_MS, ClaudeCodeSource

if TYPE_CHECKING:
    from clare.sessions.source import Observation

DOMAIN = "linux:abc:pid:[1]"
SESSION = "5f0c7d4e-0000-4000-8000-000000000001"
CWD = "/src/alpha"


@dataclass
class Probe:
    alive: dict[int, str] = field(default_factory=dict)  # pid -> start ticks
    domain: str = DOMAIN

    def is_alive(self, pid: int) -> bool:
        return pid in self.alive

    def start_ticks(self, pid: int) -> str | None:
        return self.alive.get(pid)

    def pid_domain(self) -> str | None:
        return self.domain

    def cmdline(self, pid: int) -> str | None:
        return "claude" if pid in self.alive else None


def write_session(claude: Path, pid: int, **extra: Any) -> Path:
    (claude / "sessions").mkdir(parents=True, exist_ok=True)
    data = {
        "pid": pid, "sessionId": SESSION, "cwd": CWD, "startedAt": 1000, "procStart": "77",
        "pidDomain": DOMAIN, "version": "2.1.328", "status": "busy", "name": "alpha work",
        "updatedAt": 2000, "tmux": "main:@1.%4", **extra,
    }  # fmt: skip
    path = claude / "sessions" / f"{pid}.json"
    path.write_text(json.dumps(data))
    return path


def user_line(text: str, ts: str = "2026-01-01T10:00:00.000Z") -> str:
    return json.dumps(
        {
            "parentUuid": None,
            "type": "user",
            "uuid": f"u-{text}",
            "sessionId": SESSION,
            "timestamp": ts,
            "cwd": CWD,
            "gitBranch": "feature/x",
            "version": "2.1.328",
            "message": {"role": "user", "content": text},
        }
    )


def assistant_line(message_id: str, tokens_in: int, tokens_out: int) -> str:
    return json.dumps(
        {"parentUuid": "u", "type": "assistant", "uuid": f"a-{message_id}-{tokens_out}",
         "sessionId": SESSION, "timestamp": "2026-01-01T10:00:05.000Z", "cwd": CWD,
         "gitBranch": "feature/x",
         "message": {"id": message_id, "model": "claude-test",
                     "usage": {"input_tokens": tokens_in, "output_tokens": tokens_out}}}
    )  # fmt: skip


def transcript(claude: Path) -> Path:
    path = transcript_path(claude, CWD, SESSION)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def only(observations: list[Observation]) -> Observation:
    (obs,) = observations
    return obs


def test_a_live_session_is_read_from_its_file_and_transcript(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)
    transcript(claude).write_text(
        user_line("fix it") + "\n" + assistant_line("m1", 10, 3) + "\n"
        + assistant_line("m1", 10, 5) + "\n"  # the same API message again: counted once
    )  # fmt: skip
    source = ClaudeCodeSource(claude, Probe({41: "77"}))
    obs = only(source.scan(0).observations)
    assert (obs.session, obs.pid, obs.cwd, obs.branch) == (SESSION, 41, CWD, "feature/x")
    assert (obs.status, obs.version, obs.model, obs.name) == ("busy", "2.1.328", "claude-test",
                                                                "alpha work")  # fmt: skip
    assert (obs.first_prompt, obs.started_at, obs.tmux_pane) == ("fix it", 1000, "main:@1.%4")
    assert (obs.tokens_in, obs.tokens_out) == (10, 5)
    assert obs.last_activity > 2000


def test_a_quiet_pass_reads_nothing(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)
    path = transcript(claude)
    path.write_text(user_line("go") + "\n")
    source = ClaudeCodeSource(claude, Probe({41: "77"}))
    assert source.scan(0).bytes_read > 0
    assert source.scan(0).bytes_read == 0
    with open(path, "a") as f:
        f.write(assistant_line("m2", 7, 1) + "\n" + '{"type":"user","partial')
    result = source.scan(0)
    assert only(result.observations).tokens_in == 7
    with open(path, "a") as f:
        f.write("\n")
    assert source.scan(0).skipped == {"garbage transcript line": 1}


def test_an_exited_session_is_reported_ended_once(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    file = write_session(claude, 41)
    source = ClaudeCodeSource(claude, Probe({41: "77"}))
    assert only(source.scan(0).observations).status == "busy"
    file.unlink()
    assert only(source.scan(0).observations).status == "ended"
    assert source.scan(0).observations == []


def test_stale_reused_and_foreign_files(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)  # its process died
    write_session(claude, 42, sessionId="other")  # the pid now runs something else
    write_session(claude, 43, sessionId="far", pidDomain="linux:zzz:pid:[1]")
    (claude / "sessions" / "44.json").write_text("{not json")
    result = ClaudeCodeSource(claude, Probe({42: "999"})).scan(0)
    assert sorted((o.session, o.status) for o in result.observations) == [
        (SESSION, "ended"),
        ("other", "ended"),
    ]
    assert result.skipped == {"session file of another machine": 1, "malformed session file": 1}


def test_offsets_survive_a_restart(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)
    path = transcript(claude)
    path.write_text(user_line("go") + "\n" + assistant_line("m1", 10, 1) + "\n")
    first = ClaudeCodeSource(claude, Probe({41: "77"}))
    first.scan(0)
    with open(path, "a") as f:
        f.write(assistant_line("m2", 5, 1) + "\n")
    again = ClaudeCodeSource(claude, Probe({41: "77"}))
    again.restore(json.loads(json.dumps(first.state())))
    result = again.scan(0)
    assert result.bytes_read < os.path.getsize(path) / 2  # only the new line
    assert only(result.observations).tokens_in == 15


def test_no_claude_folder_yet_is_no_session(tmp_path: Path) -> None:
    result = ClaudeCodeSource(tmp_path / "missing", Probe()).scan(0)
    assert (result.observations, result.complete) == ([], True)


LINES = [user_line("a"), assistant_line("m1", 3, 1), assistant_line("m1", 3, 2),
         assistant_line("m2", 4, 4), "garbage{", '{"type":"mystery"}', ""]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    picks=st.lists(st.integers(0, len(LINES) - 1), max_size=12),
    cuts=st.lists(st.integers(0, 4000), max_size=6),
    truncate_at=st.one_of(st.none(), st.integers(0, 4000)),
)
def test_chunked_growth_and_truncation_never_double_count(
    tmp_path_factory: Any, picks: list[int], cuts: list[int], truncate_at: int | None
) -> None:
    claude = tmp_path_factory.mktemp("c") / ".claude"
    write_session(claude, 41)
    path = transcript(claude)
    data = "".join(LINES[i] + "\n" for i in picks).encode()
    if truncate_at is not None and data:
        # A rewrite: the file is cut short, then written again in full.
        path.write_bytes(data[: truncate_at % len(data)])
        source = ClaudeCodeSource(claude, Probe({41: "77"}))
        source.scan(0)
        path.write_bytes(b"")
        source.scan(0)
    else:
        source = ClaudeCodeSource(claude, Probe({41: "77"}))
    path.write_bytes(b"")
    written = 0
    for cut in [*sorted({c % (len(data) + 1) for c in cuts}), len(data)]:
        with open(path, "ab") as f:
            f.write(data[written:cut])
        written = max(written, cut)
        source.scan(0)
    os.utime(path, ns=(1, 1))  # a changed mtime makes the last pass look again
    obs = only(source.scan(0).observations)
    whole = ClaudeCodeSource(claude, Probe({41: "77"}))
    expected = only(whole.scan(0).observations)
    assert (obs.tokens_in, obs.tokens_out) == (expected.tokens_in, expected.tokens_out)


def test_a_crash_is_noticed_at_the_next_liveness_check(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)
    probe = Probe({41: "77"})
    source = ClaudeCodeSource(claude, probe)
    assert only(source.scan(0).observations).status == "busy"
    del probe.alive[41]  # killed: its file stays behind
    assert only(source.scan(LIVENESS_EVERY_MS - 1).observations).status == "busy"
    assert only(source.scan(LIVENESS_EVERY_MS).observations).status == "ended"


OLD_BUILD = Path(__file__).resolve().parents[1] / "fixtures" / "claude-code-2.0.77" / ".claude"
OLD_SESSION = "82053e5c-a628-43df-adf4-905760099d4a"


def test_a_build_without_session_files_is_followed_from_its_hook(tmp_path: Path) -> None:
    # Claude Code 2.0.77 writes no sessions/<pid>.json: the hook's file stands in.
    claude = tmp_path / ".claude"
    shutil.copytree(OLD_BUILD, claude)
    folder = hooked.hooked_dir(tmp_path / "data")
    transcript = transcript_path(claude, "/home/dev/work/alpha_svc", OLD_SESSION)
    probe = Probe({52: "77"})
    hooked.record(folder, 52, OLD_SESSION, "/home/dev/work/alpha_svc", str(transcript), 5, probe)
    source = ClaudeCodeSource(claude, probe, hooked_dir=folder)
    obs = only(source.scan(0).observations)
    assert (obs.session, obs.pid, obs.branch, obs.version) == (
        OLD_SESSION, 52, "feature/login", "2.0.77")  # fmt: skip
    assert obs.status == ""  # the hooks say it
    assert obs.tokens_out > 0
    assert obs.first_prompt == "run the allowed command"
    del probe.alive[52]  # the process is gone (no SessionEnd): ended at the next pass
    assert only(source.scan(1).observations).status == "ended"
    assert not (folder / "52.json").exists()
    assert source.scan(2).observations == []


def test_a_session_file_of_its_own_wins_over_the_hooks(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41)
    folder = hooked.hooked_dir(tmp_path / "data")
    hooked.record(folder, 41, SESSION, CWD, "", 5, Probe({41: "77"}))
    source = ClaudeCodeSource(claude, Probe({41: "77"}), hooked_dir=folder)
    obs = only(source.scan(0).observations)
    assert (obs.session, obs.status) == (SESSION, "busy")


def test_clear_in_a_hooked_process_ends_the_old_session(tmp_path: Path) -> None:
    folder = hooked.hooked_dir(tmp_path / "data")
    probe = Probe({52: "77"})
    hooked.record(folder, 52, "old", CWD, "", 5, probe)
    source = ClaudeCodeSource(tmp_path / ".claude", probe, hooked_dir=folder)
    assert only(source.scan(0).observations).session == "old"
    hooked.record(folder, 52, "new", CWD, "", 6, probe)
    os.utime(folder / "52.json", ns=(1, 1))  # a new stamp even within one clock tick
    seen = {o.session: o.status for o in source.scan(0).observations}
    assert seen == {"old": "ended", "new": ""}


def test_a_background_session_names_its_job(tmp_path: Path) -> None:
    claude = tmp_path / ".claude"
    write_session(claude, 41, kind="bg", jobId="7207b01f", status="shell")
    obs = only(ClaudeCodeSource(claude, Probe({41: "77"})).scan(0).observations)
    assert (obs.kind, obs.job_id, obs.status) == ("bg", "7207b01f", "shell")


def test_a_new_session_has_its_branch_before_any_prompt(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".git" / "HEAD").write_text("ref: refs/heads/feature/login\n")
    claude = tmp_path / ".claude"
    write_session(claude, 41, cwd=str(repo), status="idle")
    source = ClaudeCodeSource(claude, Probe({41: "77"}))
    assert only(source.scan(0).observations).branch == "feature/login"
    new_head = repo / ".git" / "HEAD.lock"
    new_head.write_text("ref: refs/heads/main\n")
    os.replace(new_head, repo / ".git" / "HEAD")  # as git writes it: a new inode
    assert only(source.scan(0).observations).branch == "main"
