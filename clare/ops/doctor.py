"""``clare doctor``: every health check of one instance, in the order a person fixes them.

Files first (config, keys, runtime folder, databases), then the running nodes
and their endpoints, then Claude Code and the peers. A check never raises for
what it finds: a broken thing is a failure with its fix, so one problem does
not hide the others.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from clare.core.errors import ClareError
from clare.ops import doctor_claude, doctor_files, doctor_nodes, doctor_peers
from clare.ops.checks import Check, Status, failure
from clare.sessions import hook_files

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from clare.runtime.paths import InstancePaths


def run_checks(paths: InstancePaths, env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check of the instance at ``paths``; ``env`` stands for ``os.environ``."""
    env = os.environ if env is None else env
    config_check, config = doctor_files.check_config(paths)
    checks = [config_check, doctor_files.check_keys(paths), doctor_files.check_runtime_dir(paths)]
    checks.append(_guarded("data-private", lambda: doctor_files.check_data_private(paths)))
    checks.append(_guarded("disk", lambda: doctor_files.check_disk_space(paths)))
    events_check = _guarded("events-db", lambda: doctor_files.check_events_db(paths))
    checks.append(events_check)
    events_sound = events_check.status is Status.OK
    if events_sound:
        checks.append(_guarded("slot-conflicts", lambda: doctor_files.check_slot_conflicts(paths)))
    checks += _guarded_list(
        "views-db", lambda: doctor_files.check_views_db(paths, events_sound=events_sound)
    )
    checks += _guarded_list("nodes", lambda: doctor_nodes.check_nodes(paths, config))
    checks.append(_guarded("claude", lambda: doctor_claude.check_claude_found(config, env)))
    also = hook_files.remembered(paths)
    checks.append(_guarded("hooks", lambda: doctor_claude.check_hooks(config, env, also)))
    own_keys = doctor_files.own_public_keys(paths)
    status = doctor_peers.gossip_status(paths)
    checks += _guarded_list("peers", lambda: doctor_peers.check_peers(config, own_keys, status))
    return checks


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    return _guarded_list(name, lambda: [check()])[0]


def _guarded_list(name: str, checks: Callable[[], list[Check]]) -> list[Check]:
    # A check that meets an error it did not expect (an unreadable file, a
    # permission) reports it as a failure instead of ending the whole run.
    try:
        return checks()
    except (ClareError, OSError) as exc:
        return [
            failure(name, f"could not check: {exc}", "see the error; then run the doctor again")
        ]
