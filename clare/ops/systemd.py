"""systemd user units for the nodes: render them from the templates, install, uninstall.

The templates are the files of the project's ``systemd/`` folder (shipped in the
wheel as ``clare/ops/units``). A template names two holes: ``@CLARE@``, the
command that runs ``clare`` (the script installed beside this Python, so the
unit keeps working whatever PATH systemd gives it), and ``@ENVIRONMENT@``, one
``Environment=`` line per variable (``CLARE_HOME`` for a non-default instance,
``CLARE_LOG_LEVEL``, and ``CLAUDE_CONFIG_DIR`` when it is set). Rendering is
pure; only :func:`install` and :func:`uninstall` touch the disk.

Every planned node gets a unit, whether or not this version of Clare has the
node yet; :func:`enable_commands` enables only the nodes that exist, so an
upgrade that adds a node needs one more ``systemctl --user enable``.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path
from typing import TYPE_CHECKING

from clare.core.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

#: Every node a unit is shipped for, in start order.
UNIT_NODES = ("writer", "projector", "poller", "gossip", "web")
TARGET = "clare.target"
#: The first line of every file we write: uninstall removes only files that carry it.
MARKER = "# Written by `clare systemd install`; it is rewritten on every install."


def unit_name(node: str) -> str:
    return f"clare-{node}.service"


def unit_names() -> list[str]:
    return [unit_name(node) for node in UNIT_NODES] + [TARGET]


def template_dir() -> Path:
    """The folder of unit templates: in the installed package, else in the source tree."""
    packaged = Path(__file__).with_name("units")
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[2] / "systemd"
    if source.is_dir():
        return source
    raise ConfigError(f"the systemd unit templates are missing (looked in {packaged}, {source})")


def load_templates(folder: Path | None = None) -> dict[str, str]:
    folder = folder or template_dir()
    try:
        return {name: (folder / name).read_text() for name in unit_names()}
    except OSError as exc:
        raise ConfigError(f"cannot read a unit template in {folder}: {exc}") from exc


def quote(word: str, *, command: bool = False) -> str:
    """One word of a unit's ``ExecStart=`` (``command``) or ``Environment=`` line.

    systemd expands ``%`` specifiers in both and ``$`` variables in commands
    only, so those are doubled; a word with blanks or quotes is double-quoted
    with C-style escapes.
    """
    escaped = word.replace("%", "%%")
    if command:
        escaped = escaped.replace("$", "$$")
    if escaped and not any(c in escaped for c in " \t\"\\';"):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def clare_command() -> list[str]:
    """The command a unit runs: this Python's own ``clare`` script, else ``python -m clare``.

    A PATH lookup is the last resort: a shim (pyenv, asdf) found there may not
    work under systemd, which starts units with a minimal environment.
    """
    script = Path(sysconfig.get_path("scripts")) / "clare"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("clare")
    if found and "shims" not in Path(found).parts:
        return [found]
    return [sys.executable, "-m", "clare"]


#: The levels ``CLARE_LOG_LEVEL`` takes (Python's logging levels).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def environment(
    home: str | None, log_level: str, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The variables every unit sets."""
    if log_level.upper() not in LOG_LEVELS:
        # A bad level would sit in every unit, and each node would quietly fall back to INFO.
        raise UsageError(
            f"unknown log level {log_level!r}; levels are {', '.join(LOG_LEVELS).lower()}"
        )
    env = os.environ if env is None else env
    values: dict[str, str] = {}
    if home:
        values["CLARE_HOME"] = str(Path(home).expanduser().absolute())
    values["CLARE_LOG_LEVEL"] = log_level.upper()
    if env.get("CLAUDE_CONFIG_DIR"):
        values["CLAUDE_CONFIG_DIR"] = env["CLAUDE_CONFIG_DIR"]
    return values


def render(template: str, command: Sequence[str], env: Mapping[str, str]) -> str:
    """Fill one template's holes; the result starts with :data:`MARKER`."""
    exec_words = " ".join(quote(word, command=True) for word in command)
    env_lines = [f"Environment={quote(f'{k}={v}')}" for k, v in env.items()]
    lines: list[str] = [MARKER]
    for line in template.splitlines():
        if line.strip() == "@ENVIRONMENT@":
            lines.extend(env_lines)
        else:
            lines.append(line.replace("@CLARE@", exec_words))
    return "\n".join(lines) + "\n"


def render_units(
    command: Sequence[str], env: Mapping[str, str], templates: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Every unit file by name, rendered."""
    templates = load_templates() if templates is None else templates
    return {name: render(templates[name], command, env) for name in unit_names()}


def default_unit_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where systemd looks for a user's own units: ``$XDG_CONFIG_HOME/systemd/user``."""
    env = os.environ if env is None else env
    config_home = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "systemd" / "user"


def _ours(path: Path) -> bool:
    try:
        with path.open() as f:
            return f.readline().rstrip("\n") == MARKER
    except OSError:
        return False


def install(units: Mapping[str, str], unit_dir: Path, *, force: bool = False) -> list[Path]:
    """Write the units (atomically each); refuses to overwrite files someone else wrote."""
    foreign = [unit_dir / n for n in units if (unit_dir / n).exists() and not _ours(unit_dir / n)]
    if foreign and not force:
        raise UsageError(
            f"{foreign[0]} exists and was not written by Clare: move it away, "
            "or pass --force to overwrite it"
        )
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in units.items():
        path = unit_dir / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
        written.append(path)
    return written


def uninstall(unit_dir: Path) -> tuple[list[Path], list[Path]]:
    """Remove the units Clare wrote; returns (removed, kept because someone else wrote them)."""
    removed, kept = [], []
    for name in unit_names():
        path = unit_dir / name
        if not path.exists():
            continue
        if _ours(path):
            path.unlink()
            removed.append(path)
        else:
            kept.append(path)
    return removed, kept


def enable_commands(nodes: Sequence[str]) -> list[str]:
    """The ``systemctl --user`` commands that start the given nodes now and at login."""
    units = " ".join(unit_name(n) for n in UNIT_NODES if n in nodes)
    return [
        "systemctl --user daemon-reload",
        f"systemctl --user enable {units} {TARGET}",
        f"systemctl --user start {TARGET}",
        "loginctl enable-linger $USER   # keep Clare running while you are logged out",
    ]


def disable_commands() -> list[str]:
    """The commands to run before removing the units."""
    units = " ".join(unit_name(n) for n in UNIT_NODES)
    return [f"systemctl --user disable --now {TARGET} {units}", "systemctl --user daemon-reload"]
