from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

from clare.ops.checks import Status
from clare.ops.doctor_files import (
    check_config,
    check_data_private,
    check_events_db,
    check_keys,
    check_runtime_dir,
    check_views_db,
    own_public_keys,
)
from clare.store import maintenance
from clare.store.sqlite import integrity_problems, open_writer

if TYPE_CHECKING:
    from pathlib import Path

    from clare.runtime.paths import InstancePaths

PUBLIC = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"


def _garble(path: Path, from_byte: int = 4096) -> None:
    """Overwrite everything after the first page, as a bad disk or a stray write would."""
    size = path.stat().st_size
    assert size > from_byte, "the database is too small to damage past its first page"
    with path.open("r+b") as f:
        f.seek(from_byte)
        f.write(b"\xa5" * (size - from_byte))


def test_a_private_config_is_ok(paths: InstancePaths) -> None:
    os.chmod(paths.config_file, 0o600)
    check, config = check_config(paths)
    assert check.status is Status.OK
    assert config is not None
    assert config.name in check.summary


def test_a_missing_config_says_run_init(paths: InstancePaths) -> None:
    paths.config_file.unlink()
    check, config = check_config(paths)
    assert (check.status, config) == (Status.FAILURE, None)
    assert "`clare init`" in check.fix


def test_a_broken_config_is_a_failure(paths: InstancePaths) -> None:
    paths.config_file.write_text("machine_id = 'not a uuid'\n")
    check, _ = check_config(paths)
    assert check.status is Status.FAILURE
    assert "not a uuid" in check.summary


def test_a_config_others_can_read_or_write_is_flagged(paths: InstancePaths) -> None:
    os.chmod(paths.config_file, 0o644)
    check, _ = check_config(paths)
    assert check.status is Status.WARNING
    assert check.fix == f"chmod 600 {paths.config_file}"
    os.chmod(paths.config_file, 0o666)
    assert check_config(paths)[0].status is Status.FAILURE


def test_no_key_folder_is_a_warning(paths: InstancePaths) -> None:
    check = check_keys(paths)
    assert check.status is Status.WARNING
    assert "clare init" in check.fix


def test_private_keys_are_ok_and_an_exposed_secret_is_a_failure(paths: InstancePaths) -> None:
    keys = paths.keys_dir
    keys.mkdir(mode=0o700)
    secret = keys / "host.key_secret"
    secret.write_text(f'curve\n    public-key = "{PUBLIC}"\n    secret-key = "x"\n')
    os.chmod(secret, 0o600)
    (keys / "host.key").write_text(f'curve\n    public-key = "{PUBLIC}"\n')
    assert check_keys(paths).status is Status.OK
    assert own_public_keys(paths) == {PUBLIC}
    os.chmod(secret, 0o644)
    check = check_keys(paths)
    assert check.status is Status.FAILURE
    assert check.fix == f"chmod 600 {secret}"
    os.chmod(secret, 0o600)
    os.chmod(keys, 0o755)
    assert check_keys(paths).fix == f"chmod 700 {keys}"


def test_a_key_folder_without_a_secret_is_a_failure(paths: InstancePaths) -> None:
    paths.keys_dir.mkdir(mode=0o700)
    assert check_keys(paths).status is Status.FAILURE


def test_the_runtime_folder_must_be_private(paths: InstancePaths) -> None:
    assert check_runtime_dir(paths).status is Status.OK
    os.chmod(paths.runtime_dir, 0o755)
    check = check_runtime_dir(paths)
    assert check.status is Status.FAILURE
    assert check.fix == f"chmod 700 {paths.runtime_dir}"


def test_no_databases_yet_is_a_warning(paths: InstancePaths) -> None:
    assert check_events_db(paths).status is Status.WARNING
    assert [c.status for c in check_views_db(paths, events_sound=False)] == [Status.WARNING]


def test_sound_databases_pass_integrity_and_verify(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    assert check_events_db(paths).status is Status.OK
    checks = check_views_db(paths, events_sound=True)
    assert [(c.name, c.status) for c in checks] == [
        ("views-db", Status.OK),
        ("views-verify", Status.OK),
        ("views-set-aside", Status.OK),
    ]


def test_corrupted_views_db_is_found_and_the_fix_works(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    _garble(paths.views_db)
    assert integrity_problems(paths.views_db)
    [check] = check_views_db(paths, events_sound=True)
    assert (check.name, check.status) == ("views-db", Status.FAILURE)
    assert f"rm -f {paths.views_db} " in check.fix
    # The fix works: without the file, the projection starts afresh from the events.
    paths.views_db.unlink()
    maintenance.rebuild(paths)
    assert [c.status for c in check_views_db(paths, events_sound=True)] == [Status.OK] * 3


def test_a_file_that_is_not_a_database_at_all(paths: InstancePaths) -> None:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    paths.events_db.write_bytes(b"this is not SQLite" * 1000)
    check = check_events_db(paths)
    assert check.status is Status.FAILURE
    assert "backup" in check.fix


def test_corrupted_events_db_is_found(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    _garble(paths.events_db)
    assert check_events_db(paths).status is Status.FAILURE


def test_views_that_differ_from_a_rebuild_fail_verify(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    conn = open_writer(paths.views_db, durable=False)
    conn.execute("INSERT INTO counts (kind, n) VALUES ('Phantom', 7)")
    conn.close()
    views_check, verify_check = check_views_db(paths, events_sound=True)
    assert views_check.status is Status.OK
    assert verify_check.status is Status.FAILURE
    assert "counts Phantom" in verify_check.summary
    assert verify_check.fix == "`clare rebuild`"


def test_verify_is_skipped_when_the_events_are_damaged(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    assert [c.name for c in check_views_db(paths, events_sound=False)] == ["views-db"]


def test_data_created_by_clare_is_private(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)  # opens both databases as their writers do
    assert stat.S_IMODE(paths.data_dir.stat().st_mode) == 0o700
    for db in (paths.events_db, paths.views_db):
        assert stat.S_IMODE(db.stat().st_mode) == 0o600, db
    check = check_data_private(paths)
    assert check.status is Status.OK, check


def test_data_others_can_read_is_a_failure_with_its_fix(paths: InstancePaths) -> None:
    maintenance.rebuild(paths)
    os.chmod(paths.data_dir, 0o755)
    check = check_data_private(paths)
    assert check.status is Status.FAILURE
    assert check.fix == f"chmod 700 {paths.data_dir}"
    os.chmod(paths.data_dir, 0o700)
    os.chmod(paths.views_db, 0o644)
    check = check_data_private(paths)
    assert check.status is Status.FAILURE
    assert str(paths.views_db) in check.fix


def test_an_older_install_is_made_private_when_its_databases_open(
    paths: InstancePaths,
) -> None:
    maintenance.rebuild(paths)
    os.chmod(paths.data_dir, 0o755)
    os.chmod(paths.events_db, 0o644)
    paths.ensure_data_dir()
    open_writer(paths.events_db, durable=True).close()
    assert stat.S_IMODE(paths.data_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(paths.events_db.stat().st_mode) == 0o600
