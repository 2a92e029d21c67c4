"""Which settings files Clare's hooks were installed in, remembered per instance.

``clare hooks install --settings FILE`` may put the hooks in a file other
than Claude Code's own settings.json (a project's ``.claude/settings.json``, a
wrapper's config). The doctor must look there too, so every install records
its file here and every uninstall forgets it: one absolute path per line in
the instance's data folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

FILE_NAME = "hook-settings"


def _record(paths: InstancePaths) -> Path:
    return paths.data_dir / FILE_NAME


def remembered(paths: InstancePaths) -> list[Path]:
    """The settings files hooks were installed in, oldest first; [] if none or unreadable."""
    try:
        text = _record(paths).read_text()
    except (OSError, UnicodeDecodeError):
        return []
    return [Path(line) for line in dict.fromkeys(text.splitlines()) if line.startswith("/")]


def remember(paths: InstancePaths, settings: Path) -> None:
    _save(paths, [*remembered(paths), settings.absolute()])


def forget(paths: InstancePaths, settings: Path) -> None:
    _save(paths, [p for p in remembered(paths) if p != settings.absolute()])


def _save(paths: InstancePaths, files: list[Path]) -> None:
    record = _record(paths)
    record.parent.mkdir(parents=True, exist_ok=True)
    tmp = record.with_name(FILE_NAME + ".tmp")
    tmp.write_text("".join(f"{p}\n" for p in dict.fromkeys(files)))
    os.replace(tmp, record)
