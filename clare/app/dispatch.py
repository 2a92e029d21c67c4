"""Dispatch on this host: what to refuse, the prompt, and the Claude Code commands.

Called by the dispatcher (``clare.nodes.dispatcher``, inside the poller node),
which owns the acting, and by the CLI and the page for what they show. The
checks that need this host's own knowledge are here: whether its owner turned
dispatch on, where the project lives on this host, how many dispatched sessions
run here now. The checks that need the log's current state (the request still
waiting, the task still ready, the request fresh) are the writer's
(``dispatch.accept``), so both are made once, on the host that acts.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import TYPE_CHECKING, Any

from clare.core.errors import ClareError, NotFound
from clare.store import eventlog, queries_dispatch, queries_tasks

if TYPE_CHECKING:
    import sqlite3

    from clare.runtime.config import Config

_JOB = re.compile(r"backgrounded\s*\S\s*([0-9a-f]{6,})")
#: A launched session that has not appeared in this long is taken for failed.
APPEAR_TIMEOUT_S = 60.0


def local_refusal(
    config: Config, views: sqlite3.Connection, request: dict[str, Any], *, extra_load: int = 0
) -> str:
    """Why this host will not start ``request``, or "" when it may. ``extra_load``:
    sessions being started that the views do not show yet."""
    if not config.dispatch_enabled:
        return (
            f"dispatch is off on host {config.name}: its owner turns it on with "
            "`enabled = true` under [dispatch] in clare.toml"
        )
    if request["action"] != "start":
        return ""
    folder = project_folder(config, views, request["task"])
    if not folder:
        return (
            f"the task's project has no folder on host {config.name}: "
            "set it there with `clare project path`"
        )
    if not os.path.isdir(folder):
        return f"the project's folder {folder} does not exist on host {config.name}"
    load = queries_dispatch.dispatch_load(views, config.machine_id) + extra_load
    if load >= config.dispatch_max_sessions:
        return (
            f"host {config.name} is at capacity: {load} dispatched sessions of "
            f"{config.dispatch_max_sessions} allowed"
        )
    return ""


def project_folder(config: Config, views: sqlite3.Connection, task_id: str) -> str:
    """The folder of ``task_id``'s project on this host, or ""."""
    try:
        task = queries_tasks.get_task(views, None, task_id)
    except NotFound:
        return ""
    row = views.execute("SELECT paths FROM projects WHERE name = ?", (task["project"],)).fetchone()
    if row is None:
        return ""
    import json

    return str(json.loads(row[0]).get(config.machine_id, ""))


def last_word(events: sqlite3.Connection, task_id: str) -> str:
    """A task's outcome as its last note says it (``clare done --note`` writes one)."""
    from clare.domain.events import TaskNoted
    from clare.domain.registry import decode_event

    text = ""
    for event in eventlog.entity_events(events, task_id):
        try:
            found = decode_event(event)
        except ClareError:
            continue
        if isinstance(found, TaskNoted):
            text = found.text
    return text


def prompt_for(
    views: sqlite3.Connection, events: sqlite3.Connection, task_id: str, request: str
) -> str:
    """What the dispatched session is told: its task, what it builds on, how to report."""
    task = queries_tasks.get_task(views, None, task_id)
    lines = [
        f"You are working on task {task['id']} of project {task['project']}: {task['title']}",
        f"(dispatched by Clare, request {request}).",
    ]
    if task.get("body"):
        lines += ["", task["body"]]
    if task["depends_on"]:
        lines += ["", "It builds on these tasks:"]
        for dep in task["depends_on"]:
            try:
                found = queries_tasks.get_task(views, None, dep)
            except NotFound:
                lines.append(f"- {dep}: unknown here")
                continue
            outcome = last_word(events, dep)
            said = f" Outcome: {outcome}" if outcome else ""
            lines.append(f"- {dep} ({found['state']}): {found['title']}.{said}")
    lines += [
        "",
        f"Report progress with `clare note {task['id']} TEXT`. When the task is finished, "
        "run `clare done --note 'what you did'`.",
    ]
    return "\n".join(lines)


def start_argv(config: Config, name: str, worktree: bool, prompt: str) -> list[str]:
    """``claude --bg`` for one dispatched session, with the owner's permission mode."""
    argv = [*shlex.split(config.dispatch_command), "--bg", "-n", name]
    argv += ["--permission-mode", config.dispatch_permission_mode]
    if worktree:
        argv += ["-w", name]
    return [*argv, prompt]


def job_id_of(output: str) -> str:
    """The job id ``claude --bg`` prints ("backgrounded · 1a2b3c"), or ""."""
    found = _JOB.search(output)
    return found.group(1) if found else ""


def stop_argv(config: Config, job_id: str) -> list[str]:
    return [*shlex.split(config.dispatch_command), "stop", job_id]


def attach_command(config: Config, job_id: str) -> list[str]:
    return [*shlex.split(config.dispatch_command), "attach", job_id]


def claude_env(config: Config) -> dict[str, str]:
    """The environment Claude Code runs in: this host's, with its configured folder."""
    env = dict(os.environ)
    if config.claude_config_dir:
        folder = os.path.realpath(os.path.expanduser(config.claude_config_dir))
        # Named only when it is not the default: with CLAUDE_CONFIG_DIR set, Claude Code
        # also reads its settings (trusted folders, ...) from there instead of ~/.claude.json.
        if folder != os.path.realpath(os.path.expanduser("~/.claude")):
            env["CLAUDE_CONFIG_DIR"] = folder
    # A dispatched session is not a child of any session: it must not inherit one's marks.
    for name in ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_MESSAGING_SOCKET"):
        env.pop(name, None)
    return env
