"""This host's CURVE key pair: the identity its peers allow in their ``clare.toml``.

Keys are Z85 text (40 characters for 32 bytes), the form ZeroMQ takes and the
form a person copies from ``clare keys show`` into ``clare sync peer add``.
The pair lives in the instance's ``keys/`` folder (mode 0700): the public key
in ``gossip.key``, the secret one in ``gossip.key_secret`` (mode 0600, created
with that mode so it is never readable by others, not even for an instant).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import zmq
from zmq.utils import z85

from clare.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from pathlib import Path

    from clare.runtime.paths import InstancePaths

PUBLIC_FILE = "gossip.key"
SECRET_FILE = "gossip.key_secret"
KEY_CHARS = 40


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A CURVE key pair, both halves as Z85 text."""

    public: str
    secret: str


def check_key(text: str, what: str = "public key") -> str:
    """``text`` as a Z85 CURVE key, stripped; UsageError if it is not one."""
    key = text.strip()
    if len(key) != KEY_CHARS:
        raise UsageError(f"a {what} is {KEY_CHARS} Z85 characters, not {len(key)}: {key!r:.60}")
    try:
        raw = z85.decode(key.encode("utf-8"))
    except (ValueError, KeyError, struct.error) as exc:
        raise UsageError(f"{what} {key!r} is not Z85 text") from exc
    if len(raw) != 32:
        raise UsageError(f"{what} {key!r} does not decode to 32 bytes")
    return key


def key_from_bytes(raw: bytes) -> str:
    """A 32-byte key (as ZAP hands it over) in Z85 text."""
    return z85.encode(raw).decode("ascii")


def ensure_keypair(paths: InstancePaths) -> tuple[KeyPair, bool]:
    """The host's key pair, made now if it has none; returns it and whether it was made."""
    secret_file = paths.keys_dir / SECRET_FILE
    if secret_file.exists():
        return load_keypair(paths), False
    paths.keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.keys_dir, 0o700)
    public, secret = zmq.curve_keypair()
    try:
        _write(secret_file, secret.decode("ascii"), 0o600, exclusive=True)
    except FileExistsError:
        # Another process (a node starting beside `clare init`) made it first: use theirs.
        return load_keypair(paths), False
    _write(paths.keys_dir / PUBLIC_FILE, public.decode("ascii"), 0o644, exclusive=False)
    return KeyPair(public.decode("ascii"), secret.decode("ascii")), True


def load_keypair(paths: InstancePaths) -> KeyPair:
    """Read the key pair; ConfigError if it is missing, malformed or readable by others."""
    secret_file = paths.keys_dir / SECRET_FILE
    try:
        mode = secret_file.stat().st_mode & 0o777
        secret_text = secret_file.read_text()
    except FileNotFoundError as exc:
        raise ConfigError(f"no key pair at {paths.keys_dir}: run `clare init` to make one") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {secret_file}: {exc}") from exc
    if mode & 0o077:
        raise ConfigError(
            f"{secret_file} is readable by others (mode {mode:o}): run `chmod 600 {secret_file}`"
        )
    try:
        secret = check_key(secret_text, "secret key")
    except UsageError as exc:
        raise ConfigError(f"{secret_file}: {exc}") from exc
    # The public half is derived, so a damaged or swapped gossip.key cannot mislead us.
    public = zmq.curve_public(secret.encode("ascii")).decode("ascii")
    return KeyPair(public, secret)


def _write(path: Path, text: str, mode: int, *, exclusive: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_EXCL if exclusive else os.O_TRUNC)
    fd = os.open(path, flags, mode)
    try:
        os.write(fd, (text + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
