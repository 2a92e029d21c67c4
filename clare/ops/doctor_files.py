"""Doctor checks of what lies on disk: config, keys, runtime folder, both databases.

Each check reads files only (SQLite through the store's read-only opener) and
returns :class:`~clare.ops.checks.Check` values; none needs a running node.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from clare.core.errors import ClareError
from clare.ops.checks import Check, failure, group_or_other_bits, ok, warning
from clare.runtime import config as config_mod
from clare.store import eventlog, maintenance, queries_events
from clare.store.space import data_space
from clare.store.sqlite import integrity_problems, open_reader, reading

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

_PUBLIC_KEY_LINE = re.compile(r'^\s*public-key\s*=\s*"([^"]+)"', re.MULTILINE)


def check_config(paths: InstancePaths) -> tuple[Check, config_mod.Config | None]:
    """The config parses and only its owner can change (or read) it."""
    path = paths.config_file
    try:
        config = config_mod.load(paths)
    except ClareError as exc:
        return failure("config", str(exc), f"create or repair it: `clare init` ({path})"), None
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o022:
        summary = f"{path} is writable by others (mode {stat.S_IMODE(mode):o})"
        return failure("config", summary, f"chmod 600 {path}"), config
    if group_or_other_bits(mode):
        summary = (
            f"{path} is readable by others (mode {stat.S_IMODE(mode):o}): it holds the web token"
        )
        return warning("config", summary, f"chmod 600 {path}"), config
    return ok("config", f"{path} (host {config.name!r}, machine {config.machine_id})"), config


def check_keys(paths: InstancePaths) -> Check:
    """The host's CURVE keys: present once sync is set up, and private."""
    folder = paths.keys_dir
    if not folder.is_dir():
        return warning(
            "keys",
            f"no key folder at {folder}: peers cannot sync with this host",
            "make the host's key pair with `clare init` (a Clare with sync makes it)",
        )
    if group_or_other_bits(folder.stat().st_mode):
        return failure("keys", f"{folder} is open to other users", f"chmod 700 {folder}")
    secrets = [p for p in sorted(folder.iterdir()) if "secret" in p.name]
    if not secrets:
        return failure("keys", f"no secret key in {folder}", "make the key pair with `clare init`")
    exposed = [p for p in secrets if group_or_other_bits(p.stat().st_mode)]
    if exposed:
        return failure("keys", f"{exposed[0]} is readable by others", f"chmod 600 {exposed[0]}")
    return ok("keys", f"{len(secrets)} secret key file(s) in {folder}, private")


def own_public_keys(paths: InstancePaths) -> set[str]:
    """This host's public keys: each non-secret file in its key folder holding one.

    Either a bare key (what sync writes) or a ZeroMQ certificate's
    ``public-key = "..."`` line.
    """
    keys: set[str] = set()
    if not paths.keys_dir.is_dir():
        return keys
    for path in paths.keys_dir.iterdir():
        if "secret" in path.name:
            continue
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        keys.update(_PUBLIC_KEY_LINE.findall(text))
        if len(text.strip()) == 40:
            keys.add(text.strip())
    return keys


def check_runtime_dir(paths: InstancePaths) -> Check:
    folder = paths.runtime_dir
    if not folder.is_dir():
        return warning("runtime", f"no runtime folder at {folder}", "start Clare: `clare up`")
    if group_or_other_bits(folder.stat().st_mode):
        return failure(
            "runtime",
            f"{folder} is open to other users: they could command the writer",
            f"chmod 700 {folder}",
        )
    return ok("runtime", f"{folder} (mode 700)")


def _data_files(paths: InstancePaths) -> list[Path]:
    """The files in the data folder that hold what people wrote: databases and spool."""
    files = [
        Path(f"{db}{suffix}")
        for db in (paths.events_db, paths.views_db)
        for suffix in ("", "-wal", "-shm")
    ]
    if paths.spool_dir.is_dir():
        files += sorted(p for p in paths.spool_dir.iterdir() if p.is_file())
    return [p for p in files if p.exists()]


def check_data_private(paths: InstancePaths) -> Check:
    """The data folder and its databases are the owner's alone: they hold prompts and notes."""
    folder = paths.data_dir
    if not folder.is_dir():
        return warning("data-private", f"no data folder at {folder}", "start Clare: `clare up`")
    if group_or_other_bits(folder.stat().st_mode):
        mode = stat.S_IMODE(folder.stat().st_mode)
        return failure(
            "data-private",
            f"{folder} is open to other users (mode {mode:o}): it holds prompts and notes",
            f"chmod 700 {folder}",
        )
    exposed = [p for p in _data_files(paths) if group_or_other_bits(p.stat().st_mode)]
    if exposed:
        mode = stat.S_IMODE(exposed[0].stat().st_mode)
        return failure(
            "data-private",
            f"{exposed[0]} is readable by other users (mode {mode:o})"
            + (f", and {len(exposed) - 1} more file(s)" if len(exposed) > 1 else ""),
            f"chmod 600 {' '.join(str(p) for p in exposed)}",
        )
    return ok("data-private", f"{folder} (mode 700) and its databases are private")


def check_disk_space(paths: InstancePaths) -> Check:
    """Room for the databases: on a full disk commands are refused and the views wait."""
    space = data_space(paths.data_dir)
    if space.full:
        return failure(
            "disk",
            f"the data folder's disk is full ({space.describe()}): commands are refused "
            "and the views wait; nothing is damaged",
            f"free space on the disk holding {paths.data_dir} (`du -sh {paths.data_dir}/*`, "
            "`df -h`); Clare resumes by itself, no restart needed",
        )
    if space.low:
        return warning(
            "disk",
            f"little space left: {space.describe()}",
            f"free space on the disk holding {paths.data_dir} before writes start failing",
        )
    return ok("disk", space.describe())


def check_events_db(paths: InstancePaths) -> Check:
    path = paths.events_db
    if not path.exists():
        return warning("events-db", f"no events yet at {path}", "start Clare once: `clare up`")
    problems = integrity_problems(path)
    if problems:
        return failure(
            "events-db",
            f"{path} is damaged: {problems[0]}",
            "stop Clare and restore events.db from a backup or a peer (docs/operations.md)",
        )
    return ok("events-db", f"{path} passes integrity_check")


def check_slot_conflicts(paths: InstancePaths, own_origin: str | None = None) -> Check:
    """Events refused because a different event holds their (origin, origin_seq).

    Which of two events is genuine only the origin host knows: a conflict on
    a slot of this host's own origin names the peer that sent a forgery.
    """
    if not paths.events_db.exists():
        return ok("slot-conflicts", "no events yet")
    conn = open_reader(paths.events_db)
    try:
        with reading("slot conflicts"):
            count = eventlog.slot_conflict_count(conn)
            recent = eventlog.slot_conflicts(conn, 50)
    except ClareError:  # not migrated yet: the writer adds the table on its next start
        return ok("slot-conflicts", "none recorded (the writer has not added the table yet)")
    finally:
        conn.close()
    if not count:
        return ok("slot-conflicts", "no two events claim one (origin, origin_seq)")
    forged = [c for c in recent if c["origin"] == own_origin]
    first = forged[0] if forged else recent[0]
    summary = (
        f"{count} event(s) refused because another event holds their slot, e.g. origin "
        f"{first['origin']} seq {first['origin_seq']} from {first['peer'] or 'an unknown peer'}"
    )
    if forged:
        forger = first["peer"] or "NAME"
        return failure(
            "slot-conflicts",
            f"{summary}: a forgery of this host's own events",
            f"`clare sync peer remove {forger}` on every host, then follow "
            "docs/sync-protocol.md, 'Two events for one slot'",
        )
    return failure(
        "slot-conflicts",
        f"{summary}: one of the two is lost to this host",
        f"run `clare doctor` on the host of origin {first['origin']}: it names the peer that "
        "forged; then follow docs/sync-protocol.md, 'Two events for one slot'",
    )


def check_views_db(paths: InstancePaths, *, events_sound: bool) -> list[Check]:
    """Integrity of the views, then (if both DBs are sound) that they equal a rebuild."""
    path = paths.views_db
    if not path.exists():
        return [warning("views-db", f"no views yet at {path}", "start Clare once: `clare up`")]
    # `clare rebuild` cannot open a damaged file; a projector that finds no
    # views file makes a new one from the events, which is the same rebuild.
    damaged_fix = (
        f"stop the projector, `rm -f {path} {path}-wal {path}-shm`, start it again: "
        "it rebuilds the views from the events"
    )
    problems = integrity_problems(path)
    if problems:
        return [failure("views-db", f"{path} is damaged: {problems[0]}", damaged_fix)]
    checks = [ok("views-db", f"{path} passes integrity_check")]
    if not events_sound:
        return checks
    try:
        with reading("the views"):
            result = maintenance.verify(paths)
    except ClareError as exc:
        return [*checks, failure("views-verify", f"cannot compare the views: {exc}", damaged_fix)]
    if not result["ok"]:
        summary = (
            f"{result['difference_count']} difference(s) from a rebuild at position "
            f"{result['position']}, e.g. {result['differences'][0]}"
        )
        return [*checks, failure("views-verify", summary, "`clare rebuild`")]
    summary = f"views equal a rebuild at position {result['position']} ({result['rows']} rows)"
    return [*checks, ok("views-verify", summary), _set_aside_check(paths)]


def _set_aside_check(paths: InstancePaths) -> Check:
    """Events the views left out: the rest of the views go on, but a person should know."""
    conn = open_reader(paths.views_db)
    try:
        count = queries_events.set_aside_count(conn)
        newest = next(iter(queries_events.set_aside(conn, 1).values()), None)
    finally:
        conn.close()
    if newest is None:
        return ok("views-set-aside", "no event set aside: the views fold every event")
    return warning(
        "views-set-aside",
        f"{count} event(s) set aside, the views could not fold them; newest: "
        f"{newest['kind']} at seq {newest['seq']}: {newest['reason']}",
        "`clare log --set-aside` lists them; they stay stored and synced. A host wrote "
        "what this Clare cannot fold (a newer version, or a fault): upgrade Clare everywhere",
    )
