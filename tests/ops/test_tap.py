"""``clare tap`` against a running writer and projector (started with ``clare up``)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import msgpack
import pytest
import zmq

from clare.bus import envelope
from clare.runtime.paths import InstancePaths, resolve
from tests.integration.stack import short_home

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SUMMARY = re.compile(r"(\d+) messages, (\d+) undecodable")


class Up:
    def __init__(self, paths: InstancePaths) -> None:
        self.paths = paths
        self.env = {
            **os.environ,
            "CLARE_HOME": str(paths.config_file.parent),
            "CLARE_LOG_LEVEL": "WARNING",
        }
        self.made = 0

    def clare(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "clare", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )

    def tap(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "clare", "tap", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def make_project(self) -> None:
        self.made += 1
        result = self.clare("project", "add", f"p{self.made}")
        assert result.returncode == 0, result.stderr

    def make_task(self) -> None:
        if not self.made:
            self.make_project()
        result = self.clare("task", "add", f"t{time.monotonic_ns()}", "-p", f"p{self.made}")
        assert result.returncode == 0, result.stderr


def _until_done(tap: subprocess.Popen[str], act: Callable[[], None]) -> tuple[list[Any], str]:
    """Act again and again until the tap has seen its count (it may join late: PUB/SUB)."""
    deadline = time.monotonic() + 20
    try:
        while tap.poll() is None:
            assert time.monotonic() < deadline, "the tap did not see enough messages"
            act()
            time.sleep(0.1)
        out, err = tap.communicate(timeout=5)
    finally:
        if tap.poll() is None:
            tap.kill()
            tap.communicate()
    assert tap.returncode == 0, err
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")], err


@pytest.fixture(scope="module")
def up() -> Iterator[Up]:
    home = short_home()
    paths = resolve(home)
    stack = Up(paths)
    assert stack.clare("init", "--name", "tap-host").returncode == 0
    log = (home / "up.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "clare", "up", "--nodes", "writer,projector"],
        env=stack.env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while stack.clare("project", "list").returncode != 0:
            assert proc.poll() is None, (home / "up.log").read_text()
            assert time.monotonic() < deadline, "clare up did not come up"
            time.sleep(0.1)
        yield stack
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            log.close()
            shutil.rmtree(home, ignore_errors=True)


def test_json_lines_show_the_writers_events_and_the_projectors_views(up: Up) -> None:
    lines, err = _until_done(up.tap("--json", "--count", "6"), up.make_project)
    assert len(lines) == 6
    assert {line["node"] for line in lines} == {"writer", "projector"}
    created = [line for line in lines if line["kind"] == "ProjectCreated"]
    assert created
    assert created[0]["data"]["data"]["project"].startswith("p")
    assert created[0]["data"]["seq"] > 0
    assert all(line["kind"] == "view" for line in lines if line["node"] == "projector")
    assert SUMMARY.search(err).groups() == ("6", "0")  # type: ignore[union-attr]


def test_kind_glob_filters(up: Up) -> None:
    lines, _ = _until_done(up.tap("--json", "--count", "2", "--kind", "Task*"), up.make_task)
    assert [line["kind"] for line in lines] == ["TaskCreated", "TaskCreated"]


def test_node_filter(up: Up) -> None:
    lines, _ = _until_done(up.tap("--json", "--count", "2", "--node", "projector"), up.make_project)
    assert [line["node"] for line in lines] == ["projector", "projector"]


def test_pretty_output_for_a_person(up: Up) -> None:
    tap = up.tap("--count", "1", "--node", "writer")
    deadline = time.monotonic() + 20
    while tap.poll() is None:
        assert time.monotonic() < deadline
        up.make_project()
        time.sleep(0.1)
    out, err = tap.communicate()
    node, kind, rest = out.split(maxsplit=2)
    assert (node, kind) == ("writer", "ProjectCreated")
    # The sequence number, then the event's own fields.
    assert rest.startswith("seq=")
    assert "project=" in rest
    assert "1 messages, 0 undecodable" in err


def test_undecodable_frames_are_counted_not_fatal(up: Up) -> None:
    # No web node runs here, so the test can publish on its socket.
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.bind(f"ipc://{up.paths.runtime_dir / 'web.pub'}")
    good = envelope.encode(envelope.NOTICE, {"kind": "Hello"})
    bad_version = msgpack.packb({"v": 99, "t": "x"})
    try:
        tap = up.tap("--json", "--count", "6", "--node", "web")

        def publish() -> None:
            for frame in (b"\xc1garbage", bad_version, good):
                pub.send_multipart([b"note", frame])

        lines, err = _until_done(tap, publish)
    finally:
        pub.close(linger=0)
        ctx.term()
        (up.paths.runtime_dir / "web.pub").unlink(missing_ok=True)
    seen, undecodable = (int(n) for n in SUMMARY.search(err).groups())  # type: ignore[union-attr]
    assert seen == 6
    assert undecodable == sum(1 for line in lines if "error" in line) >= 3
    assert {line["kind"] for line in lines} == {"?", "Hello"}


def test_an_unknown_node_is_the_users_error(up: Up) -> None:
    result = up.clare("tap", "--node", "nope")
    assert result.returncode == 1
    assert "unknown node(s) nope" in result.stderr


def test_timeout_ends_a_quiet_tap(up: Up) -> None:
    tap = up.tap("--timeout", "0.3", "--kind", "NoSuchKind*")
    out, err = tap.communicate(timeout=20)
    assert tap.returncode == 0
    assert out == ""
    assert "0 messages, 0 undecodable" in err


def test_unknown_node_is_a_usage_error(up: Up) -> None:
    tap = up.tap("--node", "mars")
    _, err = tap.communicate(timeout=20)
    assert tap.returncode == 1
    assert "unknown node(s) mars" in err
