"""CLI arguments out of range or of the wrong type: a clear one-line error, nothing written.

Every case runs the real ``python -m clare`` against a running instance, so a
command that got past its own checks would reach the writer and store
something: the event count and ``clare.toml`` are compared before and after.
Typer frames its own usage errors with a ``Usage:`` and a ``Try ... --help``
line; the problem itself is always one line, ``Error: ...`` or ``clare: ...``.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from tests.integration.stack import Stack, short_home
from tests.reliability.harness import event_count, new_stack, remove

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.slow

KEY = "]kqkU>WK.-B(5Y5N}m8TWwgRbqg*f:>1XVgsd@N@"  # a well-formed CURVE public key
PEER = "tcp://10.0.0.2:8766"
LONG = "x" * 100_000  # far over every text limit, under the kernel's 128 kB per argument

# (arguments, a word the error must name)
CASES: list[tuple[list[str], str]] = [
    (["log", "--limit", "0"], "--limit"),
    (["log", "--limit", "99999999999999999999"], "--limit"),
    (["log", "--limit", "abc"], "--limit"),
    (["task", "add", "x", "-p", "pa", "--priority", "99999999999"], "priority"),
    (["task", "add", "x", "-p", "pa", "--priority", "-99999999999"], "priority"),
    (["task", "add", "x", "-p", "pa", "--priority", "99999999999999999999"], "priority"),
    (["task", "add", "x", "-p", "pa", "--priority", "1e3"], "--priority"),
    (["task", "add", "x", "-p", "pa", "--tag", "t" * 1000], "tags"),
    (["task", "add", "x", "-p", "pa", "--depends-on", "t-nope"], "t-nope"),
    (["task", "add", "x", "-p", "no-such-project"], "no-such-project"),
    (["task", "add", "", "-p", "pa"], "title"),
    (["task", "add", LONG, "-p", "pa"], "title"),
    (["task", "add", "x", "-p", "pa", "--body", LONG], "body"),
    (["project", "add", LONG], "name"),
    (["project", "add", "a\tb"], "project name"),
    (["task", "list", "--state", "nope"], "state"),
    (["task", "start", "t-nope"], "t-nope"),
    (["init", "--web-port", "0"], "--web-port"),
    (["init", "--web-port", "70000"], "--web-port"),
    (["init", "--web-port", "abc"], "--web-port"),
    (["init", "--gossip-port", "-1"], "--gossip-port"),
    (["tap", "--count", "-1"], "--count"),
    (["tap", "--count", "abc"], "--count"),
    (["sync", "peer", "add", "p", "bad-endpoint", "--key", KEY], "endpoint"),
    (["sync", "peer", "add", "p", "tcp://10.0.0.2:99999", "--key", KEY], "endpoint"),
    (["sync", "peer", "add", "p", PEER, "--key", "short"], "key"),
    (["sync", "peer", "add", "p", PEER, "--key", "\u00e9" * 40], "key"),
    (["sync", "peer", "add", "", PEER, "--key", KEY], "peer name"),
    (["broadcast", ""], "text"),
    (["broadcast", "   \n\t "], "text"),
    (["broadcast", LONG], "text"),
    (["broadcast", "hi", "--to", "nope:x"], "target"),
    (["broadcast", "hi", "--to", "session:"], "target"),
    (["broadcast", "hi", "--to", ""], "target"),
    (["broadcast", "hi", "--to", "project:no-such-project"], "no-such-project"),
    (["broadcast", "hi", "--ttl-hours", "-1"], "--ttl-hours"),
    (["broadcast", "hi", "--ttl-hours", "nan"], "--ttl-hours"),
    (["broadcast", "hi", "--ttl-hours", "inf"], "--ttl-hours"),
    (["broadcast", "hi", "--ttl-hours", "1e300"], "--ttl-hours"),
    (["assign"], "TASK_ID"),
    (["assign", "t-nope"], "SESSION"),
    (["assign", "t-nope", "no-such-session"], "t-nope"),
]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = new_stack()
    try:
        s.up()
        s.clare("project", "add", "pa")
        yield s
    finally:
        remove(s)


def _problem_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one line naming the problem; fails on a traceback or any other output."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.stdout == "", result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    problems = [line for line in lines if line.startswith(("clare: ", "Error: "))]
    framing = [line for line in lines if line.startswith(("Usage: ", "Try '"))]
    assert len(problems) == 1, lines
    assert len(problems) + len(framing) == len(lines), lines
    return problems[0]


@pytest.mark.parametrize(
    ("args", "names"), CASES, ids=[" ".join(a)[:50] or "(none)" for a, _ in CASES]
)
def test_a_bad_argument_is_refused_in_one_line_and_writes_nothing(
    stack: Stack, args: list[str], names: str
) -> None:
    before = event_count(stack)
    config = stack.paths.config_file.read_text()
    result = stack.clare(*args, check=False)
    assert result.returncode != 0, (args, result.stdout)
    line = _problem_line(result)
    assert names in line, line
    assert len(line) < 400, line  # names the problem; does not echo 100,000 characters
    assert event_count(stack) == before
    assert stack.paths.config_file.read_text() == config


def test_a_nul_byte_cannot_be_passed_as_an_argument() -> None:
    # The kernel's argv is NUL-terminated strings: Python refuses before exec, so no
    # NUL ever reaches Clare's argument parsing. Pinned so that a future way in
    # (an argument read from a file or stdin) gets a test of its own.
    with pytest.raises(ValueError, match="null byte"):
        subprocess.run([sys.executable, "-m", "clare", "task", "add", "a\0b", "-p", "pa"],
                       capture_output=True, check=False)  # fmt: skip


def test_a_read_before_the_views_exist_fails_clearly() -> None:
    # The projector creates the views' tables just after it starts; a read command
    # in that moment found an empty views file and died with a traceback.
    stack = Stack(short_home())
    try:
        stack.init()
        stack.paths.views_db.parent.mkdir(parents=True, exist_ok=True)
        sqlite3.connect(stack.paths.views_db).close()  # the file, no tables yet
        for args in (["task", "list"], ["session", "list"]):
            result = stack.clare(*args, check=False)
            assert result.returncode != 0, result.stdout
            assert "not created yet" in _problem_line(result)
        # status reports what it can (the nodes, the disk) and names the views'
        # state as part of its report: it is what a person runs to see what is wrong.
        result = stack.clare("status", check=False)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        assert "views: " in result.stdout
        assert "not created yet" in result.stdout
        data = json.loads(stack.clare("status", "--json").stdout)
        assert "not created yet" in data["views_error"]
    finally:
        shutil.rmtree(stack.home, ignore_errors=True)


@pytest.mark.parametrize("option", ["99999999999999999999", "-1000001"])
def test_a_priority_out_of_range_is_a_usage_error(stack: Stack, option: str) -> None:
    """Past 64 bits it once ended in msgpack's OverflowError and a traceback; now the
    option's range refuses it like any other usage error, before anything is sent."""
    for args in (["task", "add", "x", "-p", "pa"], ["task", "update", "t-nope"]):
        result = stack.clare(*args, "--priority", option, check=False)
        assert result.returncode == 2, result.stderr
        assert "--priority" in _problem_line(result)
