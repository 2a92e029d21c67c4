"""The asks a session's PermissionRequest hooks left open, and their settling by its next hook.

Each waiting hook leaves a marker file in ``<run>/asks/`` named by its decision
and holding the session id (``clare.cli.hook_decision``). Every other hook of a
session that means the dialog is over (the session went on, or ended) settles
that session's open asks. A module of its own, importing nothing but the
standard library until an ask is found: it runs on every turn of every session.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import TYPE_CHECKING

from clare.cli.hook import call_writer

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

ASKS_DIR = "asks"
#: How long the settling may take (the session has gone on: nobody waits for it).
SETTLE_TIMEOUT_S = 2.0
#: Hook events after which a session's open asks are over: it went on, or ended.
SETTLING_EVENTS = {
    "UserPromptSubmit": "terminal",
    "Stop": "terminal",
    "SessionStart": "terminal",
    "PostToolUse": "terminal",
    "SessionEnd": "ended",
}


def asks_dir(paths: InstancePaths) -> str:
    return str(paths.runtime_dir / ASKS_DIR)


def settle_for_session(paths: InstancePaths, event: str, session: str) -> list[str]:
    """After a hook event that means the session went on (or ended), settle its open asks.

    Returns the decisions settled. Costs one listdir when no ask is open.
    """
    how = SETTLING_EVENTS.get(event)
    if how is None:
        return []
    folder = asks_dir(paths)
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    mine: list[str] = []
    for name in names:
        try:
            with open(os.path.join(folder, name)) as f:
                if f.read() == session:
                    mine.append(name)
        except OSError:
            continue  # its hook just removed it
    if not mine:
        return []
    from clare.bus import rpc
    from clare.domain.commands import DecisionSettle

    request = rpc.Request.of(
        DecisionSettle(decisions=tuple(mine), how=how, at=int(time.time() * 1000))
    )
    result = call_writer(paths, request, SETTLE_TIMEOUT_S)
    if not isinstance(result, dict):
        return []  # left for the next hook, or the poller's sweep
    for name in mine:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))
    return list(result.get("settled", []))
