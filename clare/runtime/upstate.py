"""``run/up.json``: what ``clare up`` is running, for ``clare status`` and ``clare doctor``.

Apart from the supervisor so that readers do not import trio.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path

    from clare.runtime.paths import InstancePaths


@dataclass
class NodeStatus:
    name: str
    pid: int = 0
    started_at: float = 0.0
    restarts: int = 0
    last_exit: int | None = None
    #: Why the supervisor stopped restarting it (a configuration error), or "".
    given_up: str = ""


@dataclass
class UpState:
    pid: int
    started_at: float
    nodes: dict[str, NodeStatus] = field(default_factory=dict)

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        data = {
            "pid": self.pid,
            "started_at": self.started_at,
            "nodes": {name: asdict(status) for name, status in self.nodes.items()},
        }
        try:
            tmp.write_text(json.dumps(data, indent=1))
            os.replace(tmp, path)
        except OSError:
            # A full disk leaves a truncated temp file: no reader looks at it, but
            # it holds space the nodes need.
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            raise


def state_file(paths: InstancePaths) -> Path:
    return paths.runtime_dir / "up.json"


def read_state(paths: InstancePaths) -> dict[str, object] | None:
    try:
        data = json.loads(state_file(paths).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
