"""Where one Clare instance keeps its config, data and runtime sockets.

``CLARE_HOME`` (or ``--home``) roots everything of one instance in one folder,
so tests, a sync suite or a demo can run several instances side by side.
Without it, the XDG locations of a normal install are used.
"""

from __future__ import annotations

import os
from pathlib import Path

from clare.core.errors import ConfigError
from clare.core.record import Record

# sockaddr_un.sun_path holds 108 bytes with its terminating NUL.
MAX_IPC_PATH = 107


class InstancePaths(Record):
    config_file: Path
    data_dir: Path
    runtime_dir: Path
    #: The folder rooting the instance (CLARE_HOME or --home); None for the XDG layout.
    home: Path | None = None

    @property
    def home_hint(self) -> str:
        """Where the instance lives, for messages: its home, or its config folder."""
        return str(self.home if self.home is not None else self.config_file.parent)

    def cli_args(self) -> list[str]:
        """What a child ``clare`` process needs to open this same instance."""
        return ["--home", str(self.home)] if self.home is not None else []

    @property
    def events_db(self) -> Path:
        return self.data_dir / "events.db"

    @property
    def views_db(self) -> Path:
        return self.data_dir / "views.db"

    @property
    def keys_dir(self) -> Path:
        return self.config_file.parent / "keys"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def fallback_spool_dir(self) -> Path:
        """Where the hook spools when the data folder's disk is full: the runtime
        folder, on another file system in most installs (``/run/user/UID``)."""
        return self.runtime_dir / "spool"

    def lock_file(self, name: str) -> Path:
        return self.runtime_dir / f"{name}.lock"

    def ensure_data_dir(self) -> Path:
        """Create the data folder private to this user (mode 0700), tightening an old one.

        It holds prompts, notes and messages: no other user may list or read it.
        """
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        return self.data_dir

    def ensure_runtime_dir(self) -> Path:
        """Create the runtime folder private to this user (mode 0700)."""
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.runtime_dir, 0o700)
        return self.runtime_dir


def resolve(home: str | Path | None = None) -> InstancePaths:
    """Paths of the instance named by ``home``, else ``CLARE_HOME``, else XDG."""
    chosen = home if home is not None else os.environ.get("CLARE_HOME") or None
    if chosen is not None:
        root = Path(chosen).expanduser().absolute()
        return InstancePaths(
            config_file=root / "clare.toml",
            data_dir=root / "data",
            runtime_dir=root / "run",
            home=root,
        )
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    runtime_base = os.environ.get("XDG_RUNTIME_DIR")
    data_dir = data_home / "clare"
    runtime_dir = Path(runtime_base) / "clare" if runtime_base else data_dir / "run"
    return InstancePaths(
        config_file=config_home / "clare" / "clare.toml", data_dir=data_dir, runtime_dir=runtime_dir
    )


def ipc_endpoint(path: Path) -> str:
    """An ``ipc://`` endpoint for a socket file, refusing paths the kernel would cut."""
    text = str(path)
    if len(text.encode()) > MAX_IPC_PATH:
        raise ConfigError(
            f"socket path is {len(text.encode())} bytes, over the {MAX_IPC_PATH}-byte limit "
            f"of Unix sockets: {text} (use a shorter CLARE_HOME)"
        )
    return f"ipc://{text}"
