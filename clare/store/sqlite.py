"""The one place that opens SQLite connections, and maps sqlite3 errors to ours.

Both databases run in WAL mode so readers never block the one writer. The
events DB commits with ``synchronous=FULL``: an acknowledgement promises the
event survives a power cut. The views DB can be rebuilt from events, so it
trades that for speed (``NORMAL``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from contextlib import contextmanager
from typing import TYPE_CHECKING

from clare.core.errors import DatabaseDamaged, DiskFull, StorageError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

#: A migration is an SQL script taking the schema from one version to the next.
Migration = str


#: Primary result codes that mean the file itself is bad, not the moment.
_DAMAGE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def storage_error(message: str, exc: sqlite3.Error) -> StorageError:
    """``exc`` as our error: a full disk and a damaged file are told apart from the rest.

    The difference decides what a node does: a full disk is waited out (the
    data is sound), a damaged views file is set aside and rebuilt.
    """
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return DiskFull(f"{message} (free some space: Clare resumes by itself)")
    if code in _DAMAGE_CODES:
        return DatabaseDamaged(message)
    return StorageError(message)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says a database file is corrupt (rather than full, locked, ...)."""
    if isinstance(exc, DatabaseDamaged):
        return True
    if isinstance(exc, sqlite3.Error):
        return getattr(exc, "sqlite_errorcode", 0) & 0xFF in _DAMAGE_CODES
    return False


#: Databases hold prompts, notes and messages: only their owner may read them.
PRIVATE_FILE_MODE = 0o600


def make_private(path: Path) -> None:
    """Create ``path`` (and a missing folder, 0700) readable by its owner alone.

    SQLite gives the ``-wal`` and ``-shm`` files it makes the mode of the
    database file, so a private database keeps its journal private too. An
    existing file of an older install is tightened here as well.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(f"{path}{suffix}", PRIVATE_FILE_MODE)


def open_writer(path: Path, *, durable: bool) -> sqlite3.Connection:
    """A connection for the only process that writes ``path``; the file is private."""
    try:
        make_private(path)
    except OSError as exc:
        error = DiskFull if exc.errno == errno.ENOSPC else StorageError
        raise error(f"cannot create {path}: {exc}") from exc
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA busy_timeout=5000")
    except sqlite3.Error as exc:
        raise storage_error(f"cannot open {path}: {exc}", exc) from exc
    return conn


def open_reader(
    path: Path, *, busy_timeout_ms: int = 5000, cache_kib: int | None = None
) -> sqlite3.Connection:
    """A read-only connection; fails clearly if the database does not exist.

    ``busy_timeout_ms`` bounds a wait on a writer's lock (the hook cannot wait
    long); ``cache_kib`` sets the page cache of a connection kept open.
    """
    if not path.exists():
        raise StorageError(f"{path} does not exist: has this instance ever run `clare up`?")
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        if cache_kib is not None:
            conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    except sqlite3.Error as exc:
        raise storage_error(f"cannot open {path} for reading: {exc}", exc) from exc
    return conn


def integrity_problems(path: Path) -> list[str]:
    """What ``PRAGMA integrity_check`` finds wrong (empty when the database is sound)."""
    try:
        conn = open_reader(path)
    except StorageError as exc:
        return [str(exc)]
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.Error as exc:  # "file is not a database", "malformed"
        return [f"{type(exc).__name__}: {exc}"]
    finally:
        conn.close()
    problems = [str(row[0]) for row in rows]
    return [] if problems == ["ok"] else problems


@contextmanager
def reading(what: str) -> Iterator[None]:
    """Run reads, an SQLite error raised as our StorageError ("cannot read ``what``").

    The shells catch our errors, never sqlite3's: which library stores the
    data stays inside clare.store.
    """
    try:
        yield
    except sqlite3.Error as exc:
        raise storage_error(f"cannot read {what}: {exc}", exc) from exc


@contextmanager
def transaction(conn: sqlite3.Connection, *, immediate: bool = True) -> Iterator[None]:
    """BEGIN ... COMMIT, rolled back on any error, sqlite errors mapped to StorageError."""
    try:
        conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    except sqlite3.Error as exc:
        raise storage_error(f"cannot begin a transaction: {exc}", exc) from exc
    try:
        yield
        conn.execute("COMMIT")
    except BaseException as exc:
        # SQLite may already have rolled back by itself (e.g. on a full disk).
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise storage_error(f"database write failed: {exc}", exc) from exc
        raise


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration], what: str) -> int:
    """Bring a database to the newest schema; each step in its own transaction.

    ``migrations[i]`` takes the schema from version i to i + 1. A database
    newer than this code is refused rather than guessed at.
    """
    current = schema_version(conn)
    if current > len(migrations):
        raise StorageError(
            f"the {what} database has schema {current}, newer than this Clare knows "
            f"({len(migrations)}): upgrade Clare"
        )
    for version in range(current, len(migrations)):
        # executescript() commits whatever is open before it runs, so the script
        # carries its own BEGIN and COMMIT to stay one atomic step.
        script = (
            f"BEGIN IMMEDIATE;\n{migrations[version]}\nPRAGMA user_version={version + 1};\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise storage_error(
                f"{what} schema migration to {version + 1} failed: {exc}", exc
            ) from exc
    return len(migrations)
