"""The poller wakes on a change of Claude Code's files (inotify), or polls without it."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import trio

from clare.bus.aclient import AsyncCommandClient
from clare.bus.endpoints import Endpoints
from clare.nodes.file_watch import InotifyWatch, PollingWatch, open_watch
from clare.nodes.poller import serve_poller
from clare.nodes.projector import serve_projector
from clare.nodes.writer import serve_writer
from clare.runtime.config import Config
from clare.runtime.paths import resolve
from clare.sessions.claude_home import transcript_path
from clare.sessions.claude_source import ClaudeCodeSource
from tests.sessions.test_claude_source import (
    CWD,
    SESSION,
    Probe,
    assistant_line,
    user_line,
    write_session,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from clare.nodes.poller import Poller
    from clare.runtime.paths import InstancePaths

MACHINE = "00000000-0000-4000-8000-0000000000dd"
CONFIG = Config(machine_id=MACHINE, name="watch-test")


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="cpw-", dir="/tmp"))  # short: socket paths
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def test_a_file_made_in_a_watched_folder_wakes_the_watch(folder: Path) -> None:
    watch = InotifyWatch()
    try:
        watch.watch([folder])
        with trio.move_on_after(0.2) as quiet:
            await watch.changed()
        assert quiet.cancelled_caught  # nothing changed: no wake-up
        (folder / "1.json").write_text("{}")
        with trio.fail_after(5):
            await watch.changed()
    finally:
        watch.close()


async def test_a_folder_not_made_yet_is_watched_from_its_parent(folder: Path) -> None:
    watch = InotifyWatch()
    try:
        later = folder / "sessions"
        watch.watch([later])
        assert watch.folders == {folder}
        later.mkdir()
        with trio.fail_after(5):
            await watch.changed()
        watch.watch([later])  # the pass after the wake-up watches it itself
        assert watch.folders == {later}
        (later / "9.json").write_text("{}")
        with trio.fail_after(5):
            await watch.changed()
    finally:
        watch.close()


async def test_a_removed_folder_is_watched_again_when_it_returns(folder: Path) -> None:
    watch = InotifyWatch()
    try:
        inner = folder / "inner"
        inner.mkdir()
        watch.watch([inner])
        inner.rmdir()
        with trio.fail_after(5):
            await watch.changed()
        assert watch.folders == set()
        inner.mkdir()
        watch.watch([inner])
        (inner / "x").write_text("")
        with trio.fail_after(5):
            await watch.changed()
    finally:
        watch.close()


async def test_watching_a_missing_folder_again_is_no_change(folder: Path) -> None:
    """Its parent's watch is kept as it is, not dropped and made again (which the kernel
    reports, and which would wake the poller after every pass)."""
    watch = InotifyWatch()
    try:
        missing = folder / "projects" / "-src-alpha"
        watch.watch([missing, folder / "elsewhere"])
        watch.watch([missing])
        watch.watch([folder / "other"])
        with trio.move_on_after(0.3) as quiet:
            await watch.changed()
        assert quiet.cancelled_caught
    finally:
        watch.close()


def test_without_inotify_the_poller_polls() -> None:
    assert isinstance(open_watch(0.5, inotify=False), PollingWatch)


async def call(paths: InstancePaths, op: str, **args: Any) -> None:
    client = AsyncCommandClient(Endpoints(paths).writer_commands)
    try:
        await client.call(op, args)
    finally:
        client.close()


def _claude(folder: Path) -> tuple[Path, ClaudeCodeSource]:
    claude = folder / "claude"
    (claude / "sessions").mkdir(parents=True)
    # A pid that is alive (this test's own): the poller also waits on the session's
    # process, and a made-up pid would be an exit that wakes it once more.
    probe = Probe(alive={os.getpid(): "77"})
    return claude, ClaudeCodeSource(claude, probe=probe)


@pytest.mark.parametrize("inotify", [True, False])
async def test_a_session_start_and_a_transcript_append_reach_the_writer(
    folder: Path, inotify: bool
) -> None:
    """With inotify the re-scan is an hour away: only a file change can wake the poller.
    Without it, the poller polls every 50 ms and sees the same."""
    paths = resolve(folder / "home")
    claude, source = _claude(folder)
    serve = functools.partial(
        serve_poller,
        paths,
        CONFIG,
        interval_s=0.05,
        rescan_s=3600.0,
        inotify=inotify,
        sources=[source],
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(serve_writer, paths, CONFIG)
        await nursery.start(serve_projector, paths, CONFIG)
        poller: Poller = await nursery.start(serve)
        await trio.sleep(0.1)  # the first pass has run, and found nothing
        assert SESSION not in poller.core.reported
        write_session(claude, os.getpid())
        with trio.fail_after(10):
            while SESSION not in poller.core.reported:
                await trio.sleep(0.01)
        # The instance's own files change at every commit: none of that wakes the poller.
        passes = poller.passes
        for n in range(5):
            await call(paths, "project.add", name=f"p{n}")
        await trio.sleep(0.3)
        assert poller.passes == passes or not inotify
        transcript = transcript_path(claude, CWD, SESSION)
        transcript.parent.mkdir(parents=True)
        transcript.write_text(user_line("go") + "\n" + assistant_line("m1", 100_000, 5000) + "\n")
        with trio.fail_after(10):
            while poller.core.reported[SESSION].tokens_in < 100_000:
                await trio.sleep(0.01)
        nursery.cancel_scope.cancel()
