from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING

import pytest
import zmq

from clare.core.errors import ConfigError, UsageError
from clare.runtime import keys
from clare.runtime import paths as paths_mod

if TYPE_CHECKING:
    from pathlib import Path


def test_a_key_pair_is_made_once_with_a_private_secret(tmp_path: Path) -> None:
    paths = paths_mod.resolve(tmp_path)
    pair, made = keys.ensure_keypair(paths)
    assert made
    secret_file = paths.keys_dir / keys.SECRET_FILE
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(paths.keys_dir.stat().st_mode) == 0o700
    assert (paths.keys_dir / keys.PUBLIC_FILE).read_text().strip() == pair.public
    assert zmq.curve_public(pair.secret.encode()).decode() == pair.public
    again, made = keys.ensure_keypair(paths)
    assert (again, made) == (pair, False)


def test_the_public_key_is_derived_from_the_secret(tmp_path: Path) -> None:
    paths = paths_mod.resolve(tmp_path)
    pair, _ = keys.ensure_keypair(paths)
    (paths.keys_dir / keys.PUBLIC_FILE).write_text("tampered\n")
    assert keys.load_keypair(paths) == pair


def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    paths = paths_mod.resolve(tmp_path)
    keys.ensure_keypair(paths)
    os.chmod(paths.keys_dir / keys.SECRET_FILE, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        keys.load_keypair(paths)


def test_a_missing_or_damaged_secret_is_a_config_error(tmp_path: Path) -> None:
    paths = paths_mod.resolve(tmp_path)
    with pytest.raises(ConfigError, match="clare init"):
        keys.load_keypair(paths)
    keys.ensure_keypair(paths)
    (paths.keys_dir / keys.SECRET_FILE).write_text("nonsense\n")
    with pytest.raises(ConfigError, match="secret key"):
        keys.load_keypair(paths)


@pytest.mark.parametrize(
    "text", ["", "short", "~" * 40, "#" * 40, "é" * 40, "0" * 39 + " x", "0" * 45]
)
def test_check_key_refuses_what_is_not_a_z85_key(text: str) -> None:
    with pytest.raises(UsageError):
        keys.check_key(text)


def test_check_key_accepts_and_strips_a_real_key() -> None:
    public, _ = zmq.curve_keypair()
    assert keys.check_key(f"  {public.decode()}\n") == public.decode()
    assert keys.key_from_bytes(zmq.utils.z85.decode(public)) == public.decode()
