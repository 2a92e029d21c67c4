from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from clare.core.errors import ProtocolError
from clare.sessions.session_file import (
    Liveness,
    MalformedSessionFile,
    ProcProbe,
    SessionFile,
    check_liveness,
    parse_session_file,
    read_session_file,
)

FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures"
    / "claude-code-2.1.328"
    / ".claude"
    / "sessions"
    / "11246.json"
)
DOMAIN = "linux:3d1219c7c4c5404aaa1f6d2a48adfda4:pid:[4026531836]"


@dataclass
class FakeProbe:
    """Processes as a test says they are."""

    alive: set[int] = field(default_factory=set)
    ticks: dict[int, str] = field(default_factory=dict)
    cmdlines: dict[int, str] = field(default_factory=dict)
    domain: str | None = DOMAIN

    def is_alive(self, pid: int) -> bool:
        return pid in self.alive

    def start_ticks(self, pid: int) -> str | None:
        return self.ticks.get(pid)

    def pid_domain(self) -> str | None:
        return self.domain

    def cmdline(self, pid: int) -> str | None:
        return self.cmdlines.get(pid)


def test_parse_the_real_session_file() -> None:
    s = read_session_file(FIXTURE)
    assert s == SessionFile(
        pid=11246,
        session_id="9f606099-205f-4704-b96f-3395277838e8",
        cwd="/home/dev/work/alpha_svc",
        started_at_ms=1795483262896,
        proc_start="102703",
        pid_domain=DOMAIN,
        version="2.1.328",
        kind="interactive",
        name="alpha-svc-5e",
        status="idle",
        waiting_for=None,
        updated_at_ms=1795483262767,
        tmux_pane="fxlive:@0.%0",
        messaging_socket_path="/tmp/cc-socks/11246.sock",
    )


def test_missing_and_extra_fields_are_tolerated() -> None:
    raw = {"pid": 7, "sessionId": "s", "cwd": "/w", "status": "waiting", "future": [1, 2]}
    s = parse_session_file(json.dumps(raw))
    assert (s.pid, s.session_id, s.cwd, s.status) == (7, "s", "/w", "waiting")
    assert s.proc_start is None
    assert s.tmux_pane is None
    assert s.started_at_ms is None


NEWEST = Path(__file__).parent.parent / "fixtures" / "claude-code-2.1.332" / ".claude" / "sessions"


def test_the_newest_builds_files_name_background_sessions_and_waiting() -> None:
    idle = read_session_file(NEWEST / "20395.json")
    assert (idle.kind, idle.job_id, idle.version) == ("interactive", None, "2.1.332")
    waiting = read_session_file(NEWEST / "waiting-20395.json")
    assert (waiting.status, waiting.waiting_for) == ("waiting", "permission prompt")
    bg = read_session_file(NEWEST / "bg-20535.json")
    assert (bg.kind, bg.job_id, bg.name, bg.status) == ("bg", "7207b01f", "bg-task", "idle")
    assert bg.tmux_pane is None


def test_shell_is_a_status() -> None:
    raw = {"pid": 7, "sessionId": "s", "cwd": "/w", "status": "shell"}
    assert parse_session_file(json.dumps(raw)).status == "shell"


def test_waiting_for_and_unknown_status() -> None:
    raw = {"pid": 7, "sessionId": "s", "cwd": "/w", "status": "pondering", "waitingFor": "tool"}
    s = parse_session_file(json.dumps(raw).encode())
    assert s.status == "unknown"
    assert s.waiting_for == "tool"


def test_wrongly_typed_optional_fields_read_as_missing() -> None:
    raw = {"pid": 7, "sessionId": "s", "cwd": "/w", "startedAt": "soon", "tmux": 3, "name": ""}
    s = parse_session_file(json.dumps(raw))
    assert (s.started_at_ms, s.tmux_pane, s.name) == (None, None, None)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"[1, 2]",
        b'{"sessionId": "s", "cwd": "/w"}',
        b'{"pid": "12", "sessionId": "s", "cwd": "/w"}',
        b'{"pid": true, "sessionId": "s", "cwd": "/w"}',
        b'{"pid": 12, "cwd": "/w"}',
        b'{"pid": 12, "sessionId": "s"}',
        b"\xff\xfe",
    ],
)
def test_malformed_files_raise_a_protocol_error(data: bytes) -> None:
    with pytest.raises(MalformedSessionFile):
        parse_session_file(data)
    assert issubclass(MalformedSessionFile, ProtocolError)


def _session(**overrides: object) -> SessionFile:
    base = {"pid": 11246, "sessionId": "s", "cwd": "/w", "procStart": "102703", "pidDomain": DOMAIN}
    base.update(overrides)
    return parse_session_file(json.dumps({k: v for k, v in base.items() if v is not None}))


def test_live_when_the_pid_runs_and_started_at_the_same_tick() -> None:
    probe = FakeProbe(alive={11246}, ticks={11246: "102703"})
    assert check_liveness(_session(), probe) is Liveness.LIVE


def test_dead_when_the_pid_is_gone() -> None:
    assert check_liveness(_session(), FakeProbe()) is Liveness.DEAD


def test_reused_when_the_pid_started_at_another_tick() -> None:
    probe = FakeProbe(alive={11246}, ticks={11246: "999999"}, cmdlines={11246: "claude"})
    assert check_liveness(_session(), probe) is Liveness.REUSED


def test_foreign_when_written_on_another_machine_or_namespace() -> None:
    probe = FakeProbe(alive={11246}, ticks={11246: "102703"}, domain="linux:other:pid:[1]")
    assert check_liveness(_session(), probe) is Liveness.FOREIGN


def test_unknown_local_domain_does_not_decide() -> None:
    probe = FakeProbe(alive={11246}, ticks={11246: "102703"}, domain=None)
    assert check_liveness(_session(), probe) is Liveness.LIVE


@pytest.mark.parametrize(
    ("cmdline", "verdict"),
    [
        ("node /usr/lib/node_modules/@anthropic-ai/claude-code/cli.js", Liveness.LIVE),
        ("/home/u/.local/bin/claude --resume", Liveness.LIVE),
        ("/usr/bin/python3 -m http.server", Liveness.REUSED),
        ("/usr/bin/node /srv/app/server.js", Liveness.LIVE),  # Node.js: it may be running it
        ("python -m pytest tests/nodes", Liveness.REUSED),
        ("/usr/bin/nodemon app.js", Liveness.REUSED),
        (None, Liveness.LIVE),
    ],
)
def test_without_start_ticks_the_command_line_decides(
    cmdline: str | None, verdict: Liveness
) -> None:
    cmdlines = {} if cmdline is None else {11246: cmdline}
    probe = FakeProbe(alive={11246}, cmdlines=cmdlines)
    assert check_liveness(_session(), probe) is verdict
    assert check_liveness(_session(procStart=None), probe) is verdict


def test_proc_probe_sees_this_process_as_claude_code_would(tmp_path: Path) -> None:
    probe = ProcProbe()
    pid = os.getpid()
    ticks = probe.start_ticks(pid)
    assert ticks is not None
    assert ticks.isdigit()
    domain = probe.pid_domain()
    assert domain is not None
    assert domain.startswith("linux:")
    assert ":pid:[" in domain
    if os.path.exists("/etc/machine-id"):
        with open("/etc/machine-id") as f:
            assert domain.split(":")[1] == f.read().strip()
    me = _session(pid=pid, procStart=ticks, pidDomain=domain)
    assert check_liveness(me, probe) is Liveness.LIVE
    assert check_liveness(_session(pid=pid, procStart="1", pidDomain=domain), probe) is (
        Liveness.REUSED
    )


def test_proc_probe_on_a_fake_proc_tree(tmp_path: Path) -> None:
    # The command name may hold spaces and parentheses; fields count from the last ')'.
    stat = "4242 (my (odd) name) S " + " ".join(str(n) for n in range(4, 52))
    (tmp_path / "4242").mkdir()
    (tmp_path / "4242" / "stat").write_text(stat)
    (tmp_path / "4242" / "cmdline").write_bytes(b"node\0/opt/claude/cli.js\0")
    (tmp_path / "4343").mkdir()
    (tmp_path / "4343" / "stat").write_text("4343 (zombie) Z 1 2 3")
    probe = ProcProbe(str(tmp_path), machine_id=str(tmp_path / "machine-id"))
    assert probe.start_ticks(4242) == "22"
    assert probe.is_alive(4242)
    assert not probe.is_alive(4343)
    assert probe.cmdline(4242) == "node /opt/claude/cli.js"
    assert probe.cmdline(4343) is None
    assert probe.pid_domain() is None
