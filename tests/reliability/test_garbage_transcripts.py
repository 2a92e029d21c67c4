"""A Claude Code folder full of garbage: the session scan skips it, and the poller lives on.

The folder has the layout Claude Code writes (``sessions/<pid>.json``,
``projects/<folder>/<sessionId>.jsonl``) but is filled with what a crash, a full
disk, another program or an attacker with the same uid could leave there:
random bytes under .json and .jsonl names, a huge line without a newline,
invalid UTF-8, truncated and deeply nested JSON, session files of dead pids and
of live processes that are not Claude Code, a directory and a broken symlink
named like files. One real transcript (from ``tests/fixtures``) sits among it,
behind a session file whose process is alive, and must still be read right.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from clare.sessions.claude_home import project_folder_name, sessions_dir, transcript_path
from clare.sessions.claude_source import ClaudeCodeSource
from clare.sessions.session_file import PROC_PROBE
from tests.integration.stack import Stack, short_home
from tests.reliability.harness import alive, stored_events

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.sessions.source import ScanResult

FIXTURE = Path(__file__).parent.parent / "fixtures" / "claude-code-2.1.328" / ".claude"
REAL_SESSION = "7789500f-a99f-4ab5-b280-39aa6ae74086"
REAL_CWD = "/home/dev/work/alpha_svc"
DEEP = 200_000  # far beyond Python's recursion limit


@dataclass
class Garbage:
    claude: Path
    real_pid: int  # a live process that stands in for Claude Code
    stale: set[str]  # well-formed session files of dead or unrelated pids: may end, never live
    malformed: set[str]  # session ids written only into broken files: never reported


def _dead_pid() -> int:
    """A pid no process can have: above the kernel's pid_max."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 7


def _session(pid: int, session_id: str, cwd: str, **extra: Any) -> dict[str, Any]:
    return {"pid": pid, "sessionId": session_id, "cwd": cwd, "startedAt": 1_795_483_262_896,
            "version": "2.1.328", "kind": "interactive", "status": "busy", **extra}  # fmt: skip


def _garbage_transcript_bytes(rng: random.Random) -> list[bytes]:
    """Transcript contents no Claude Code writes; each a file of its own."""
    deep_line = b'{"type":"user","message":' + b"[" * DEEP + b"]" * DEEP + b"}\n"
    return [
        rng.randbytes(64 << 10),  # random binary
        b'{"type":"user","message":{"content":"' + b"x" * (3 << 20),  # huge, no newline
        b'{"type":"user","message":{"content":"\xff\xfe\xc0\xaf"}}\n' * 50,  # invalid UTF-8
        b'{"type":"assistant","message":{"id":"m1","usage":{"input_tok\n' * 50,  # truncated
        deep_line,  # deeply nested: Python's json recurses
        b'{"type":"user","x":' + b"{" * DEEP + b"\n",  # nested and never closed
        b"\0" * 4096 + b"\n" + b"[1, 2]\n" + b'"just a string"\n' + b"null\n",
        b'{"type":"summary","summary":' + b"7" * 5000 + b"}\n",  # a number for a title
    ]


def build_garbage(root: Path, real_pid: int, real_ticks: str, other_pid: int) -> Garbage:
    rng = random.Random(7)
    claude = root / "claude"
    sessions = sessions_dir(claude)
    sessions.mkdir(parents=True)
    projects = claude / "projects"
    stale: set[str] = set()
    malformed: set[str] = set()

    # Session files that are not JSON objects Claude Code would write.
    broken: list[bytes] = [
        rng.randbytes(2048),
        b'{"pid":' + b"1" * (2 << 20),  # a huge line without newline
        b'{"pid":4242,"sessionId":"bad-utf8-\xff\xfe","cwd":"/x"}',
        b'{"pid":4243,"sessionId":"truncated-session","cwd":"/x',
        b'{"pid":4244,"sessionId":"deep-session","cwd":"/x","n":'
        + b"[" * DEEP
        + b"]" * DEEP
        + b"}",
        b"[" * DEEP,
        b'{"pid":"4245","sessionId":"pid-as-text","cwd":"/x"}',
        b'{"pid":true,"sessionId":"pid-as-bool","cwd":"/x"}',
        b'{"pid":-4,"sessionId":"negative-pid","cwd":"/x"}',
        b'{"pid":4246,"sessionId":"","cwd":"/x"}',
        b'{"pid":4247,"sessionId":"no-cwd"}',
        b"\0" * 100,
        b"",
    ]
    malformed |= {"bad-utf8-\ufffd\ufffd", "truncated-session", "deep-session", "pid-as-text",
                  "pid-as-bool", "negative-pid", "no-cwd"}  # fmt: skip
    for n, data in enumerate(broken):
        (sessions / f"{90000 + n}.json").write_bytes(data)
    unreadable = sessions / "90100.json"
    unreadable.write_bytes(b'{"pid":4248,"sessionId":"unreadable","cwd":"/x"}')
    unreadable.chmod(0)  # root reads it anyway: then it is a stale file like the others
    stale.add("unreadable")
    (sessions / "90101.json").mkdir()  # a directory named like a session file
    (sessions / "90102.json").symlink_to(root / "nowhere.json")  # a broken symlink
    (sessions / "90103.json").symlink_to(sessions)  # a symlink to a directory
    (sessions / "notes.txt").write_bytes(rng.randbytes(100))  # not a session file at all

    # Well-formed session files whose process is not Claude Code, each pointing at
    # a garbage transcript: the scan reads the transcript once and reports an end.
    # ``other_pid`` is a live process that is not Claude Code (``sleep``): not this
    # test's own, whose command line holds whatever pytest was given.
    me, dead = other_pid, _dead_pid()
    my_ticks = PROC_PROBE.start_ticks(me)
    assert my_ticks is not None
    for n, contents in enumerate(_garbage_transcript_bytes(rng)):
        session_id = f"00000000-0000-4000-8000-{n:012d}"
        cwd = f"/garbage/{n}"
        if n % 3 == 0:  # a live pid, started at another time (a reused pid)
            info = _session(me, session_id, cwd, procStart=str(int(my_ticks) + 1))
        elif n % 3 == 1:  # a live pid, no procStart: its cmdline is not claude's
            info = _session(me, session_id, cwd)
        else:  # a pid nobody can have
            info = _session(dead, session_id, cwd, procStart="12345")
        (sessions / f"{91000 + n}.json").write_text(json.dumps(info))
        path = transcript_path(claude, cwd, session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(contents)
        stale.add(session_id)
    # Transcripts that cannot be read as files, behind stale session files too.
    for n, make in enumerate(("directory", "broken symlink", "unreadable")):
        session_id = f"00000000-0000-4000-9000-{n:012d}"
        cwd = f"/odd/{n}"
        path = transcript_path(claude, cwd, session_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        if make == "directory":
            path.mkdir()
        elif make == "broken symlink":
            path.symlink_to(root / "gone.jsonl")
        else:
            path.write_bytes(rng.randbytes(1000))
            path.chmod(0)
        (sessions / f"{92000 + n}.json").write_text(json.dumps(_session(dead, session_id, cwd)))
        stale.add(session_id)
    # A session file of another machine, and one whose sessionId climbs out of projects/.
    foreign = _session(me, "foreign-session", "/x", pidDomain="linux:0000:pid:[1]")
    (sessions / "93000.json").write_text(json.dumps(foreign))
    malformed.add("foreign-session")
    (sessions / "93001.json").write_text(json.dumps(_session(dead, "../../../../etc/passwd", "/")))
    stale.add("../../../../etc/passwd")

    # Transcript files no session file names: random bytes, a huge file, odd names.
    junk = projects / "-junk"
    junk.mkdir(parents=True)
    for n in range(20):
        (junk / f"{n:08d}-0000-4000-8000-000000000000.jsonl").write_bytes(rng.randbytes(4096))
    (junk / "huge.jsonl").write_bytes(b"x" * (4 << 20))
    (junk / "dir.jsonl").mkdir()
    (junk / "link.jsonl").symlink_to(root / "missing")
    (projects / "not-a-folder").write_bytes(b"\xff" * 10)

    # The real session among it all: a live process and the fixture transcript.
    real = transcript_path(claude, REAL_CWD, REAL_SESSION)
    real.parent.mkdir(parents=True)
    source = FIXTURE / "projects" / project_folder_name(REAL_CWD) / f"{REAL_SESSION}.jsonl"
    shutil.copyfile(source, real)
    info = _session(
        real_pid, REAL_SESSION, REAL_CWD, procStart=real_ticks,
        pidDomain=PROC_PROBE.pid_domain(), status="idle", name="alpha-svc-5e",
    )  # fmt: skip
    (sessions / f"{real_pid}.json").write_text(json.dumps(info))
    return Garbage(claude, real_pid, stale, malformed)


@pytest.fixture
def stand_in() -> Iterator[tuple[int, str]]:
    """A live process whose command line says claude: the real session's process."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "claude"],
        stdin=subprocess.DEVNULL,
    )
    try:
        ticks = None
        for _ in range(100):
            ticks = PROC_PROBE.start_ticks(proc.pid)
            if ticks:
                break
            time.sleep(0.01)
        assert ticks
        yield proc.pid, ticks
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def bystander() -> Iterator[int]:
    """A live process that is not Claude Code, named so in its command line."""
    sleep = shutil.which("sleep")
    assert sleep, "coreutils' sleep is not on PATH"
    proc = subprocess.Popen([sleep, "600"], stdin=subprocess.DEVNULL)
    try:
        # Until it execs, the child's command line is still pytest's.
        for _ in range(200):
            if (PROC_PROBE.cmdline(proc.pid) or "").startswith(sleep):
                break
            time.sleep(0.01)
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def garbage(stand_in: tuple[int, str], bystander: int) -> Iterator[Garbage]:
    root = short_home()
    try:
        yield build_garbage(root, *stand_in, bystander)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _check_real(scan: ScanResult, g: Garbage) -> None:
    live = [o for o in scan.observations if o.status != "ended"]
    assert [o.session for o in live] == [REAL_SESSION], live
    (obs,) = live
    assert (obs.pid, obs.status, obs.name) == (g.real_pid, "idle", "alpha-svc-5e")
    assert (obs.cwd, obs.branch, obs.version) == (REAL_CWD, "feature/login", "2.1.328")
    assert (obs.model, obs.first_prompt) == ("claude-opus-5-5", "list files")
    assert (obs.tokens_in, obs.tokens_out) == (24, 14)
    reported = {o.session for o in scan.observations}
    assert not reported & g.malformed
    assert reported <= g.stale | {REAL_SESSION}


def test_the_scan_skips_garbage_and_still_reads_the_real_session(garbage: Garbage) -> None:
    source = ClaudeCodeSource(garbage.claude)
    now = int(time.time() * 1000)
    first = source.scan(now)
    _check_real(first, garbage)
    assert first.complete
    skipped = first.skipped
    assert skipped.get("malformed session file", 0) >= 11, skipped
    assert skipped.get("unreadable session file", 0) >= 1, skipped  # the directory
    assert skipped.get("session file of another machine") == 1, skipped
    assert skipped.get("garbage transcript line", 0) >= 100, skipped
    assert skipped.get("unreadable transcript", 0) >= 1, skipped  # the directory
    # Later passes, after the liveness re-check too: nothing new, nothing breaks, and
    # the huge unfinished lines are not read again from their start.
    for n in range(1, 4):
        later = source.scan(now + n * 6_000)
        _check_real(later, garbage)
        assert later.bytes_read < 1 << 20, later.bytes_read
    # The poller's saved state survives a round trip through JSON.
    again = ClaudeCodeSource(garbage.claude)
    again.restore(json.loads(json.dumps(source.state())))
    _check_real(again.scan(now + 30_000), garbage)


@pytest.mark.slow
def test_the_poller_lives_through_garbage_and_records_none_of_it(garbage: Garbage) -> None:
    stack = Stack(short_home())
    try:
        stack.env["CLAUDE_CONFIG_DIR"] = str(garbage.claude)
        stack.init()
        config = stack.paths.config_file
        config.write_text(
            config.read_text().replace(
                'claude_config_dir = ""', f"claude_config_dir = {json.dumps(str(garbage.claude))}"
            )
        )
        assert str(garbage.claude) in config.read_text()
        stack.up()
        stack.wait_until(lambda: stack.node_pid("poller"), 10, "poller up")
        poller = stack.node_pid("poller")

        def observed() -> list[dict[str, Any]]:
            return [e.data() for e in stored_events(stack) if e.kind == "SessionObserved"]

        stack.wait_until(
            lambda: any(d.get("session") == REAL_SESSION for d in observed()), 15, "real session"
        )
        time.sleep(3.5)  # a few more passes (one a second)
        assert stack.node_pid("poller") == poller, stack.read_log()
        assert alive(poller), stack.read_log()
        snaps = observed()
        real = [d for d in snaps if d["session"] == REAL_SESSION]
        assert real[-1]["status"] == "idle"
        assert real[-1]["model"] == "claude-opus-5-5"
        others = [d for d in snaps if d["session"] != REAL_SESSION]
        assert all(d["status"] == "ended" for d in others), others
        assert {d["session"] for d in others} <= garbage.stale
        assert not {d["session"] for d in snaps} & garbage.malformed
        live = stack.json("session", "list")
        assert [s["id"] for s in live] == [REAL_SESSION], live
    finally:
        stack.down()
        shutil.rmtree(stack.home, ignore_errors=True)
