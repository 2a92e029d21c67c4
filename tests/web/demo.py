"""A demo fleet for the overview screenshot: ``python -m tests.web.demo docs/overview.png``.

Starts a real Clare (writer, projector, web), fills it through the writer
(projects and tasks as the CLI would, two other hosts and their sessions as
sync would deliver them), then takes a screenshot in headless Chromium.
"""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path
from typing import Any

import trio

from clare.bus.client import CommandClient
from clare.bus.endpoints import WRITER_COMMANDS, Endpoints
from clare.core import hlc
from clare.core.events import encode_body
from clare.domain.events import HostNamed, SessionObserved
from clare.runtime.paths import resolve
from tests.web.cdp import open_browser
from tests.web.test_browser import running_clare

HOSTS = {
    "00000000-0000-4000-8000-00000000d001": ("laptop", ("dev",)),
    "00000000-0000-4000-8000-00000000d002": ("gpu-server", ("gpu", "dev")),
}
SESSIONS = [
    ("laptop", "api-refactor", "shop-api", "busy", "feature/pagination", 183_000, ""),
    ("laptop", "docs-writer", "handbook", "waiting", "main", 41_500, "permission"),
    ("gpu-server", "trainer", "vision", "busy", "exp/augment", 1_250_000, ""),
    ("gpu-server", "eval-sweep", "vision", "idle", "main", 612_000, ""),
    ("gpu-server", "data-clean", "vision", "busy", "fix/labels", 96_000, ""),
]


def fill(home: Path) -> None:
    paths = resolve(home)
    endpoints = Endpoints(paths)
    with CommandClient(
        endpoints.ipc(WRITER_COMMANDS), endpoints.socket_file(WRITER_COMMANDS)
    ) as client:

        def call(op: str, **args: Any) -> dict[str, Any]:
            return client.call(op, args)

        seqs: dict[str, int] = {}

        def remote(machine_id: str, kind: str, body: dict[str, Any]) -> None:
            seqs[machine_id] = seqs.get(machine_id, 0) + 1
            event = [
                str(uuid.uuid4()), machine_id, seqs[machine_id],
                hlc.pack(int(time.time() * 1000), 0), kind, encode_body(body),
            ]  # fmt: skip
            call("ingest", events=[event])

        for machine_id, (name, groups) in HOSTS.items():
            remote(machine_id, "HostNamed", HostNamed(machine_id, name, groups).to_body())
        tasks: dict[str, str] = {}
        for project, description in (
            ("shop-api", "the storefront's REST API"),
            ("vision", "image models and their data"),
            ("handbook", "the team handbook"),
        ):
            call("project.add", name=project, description=description)
        for project, title, state, priority in (
            ("shop-api", "Paginate the order list", "in_progress", 5),
            ("shop-api", "Rate-limit the login endpoint", "todo", 8),
            ("shop-api", "Drop the v1 routes", "todo", 1),
            ("shop-api", "Fix the currency rounding", "done", 3),
            ("vision", "Train with the new augmentations", "in_progress", 9),
            ("vision", "Relabel the night-time images", "in_progress", 4),
            ("vision", "Evaluate on the held-out set", "review", 6),
            ("vision", "Export the model to ONNX", "todo", 2),
            ("vision", "Try a larger batch size", "blocked", 1),
            ("handbook", "Write the on-call page", "in_progress", 3),
            ("handbook", "Spell-check everything", "done", 0),
        ):
            task = call("task.add", project=project, title=title, priority=priority)["task"]
            tasks[title] = task
            if state == "review":
                call("task.state", task=task, state="in_progress")
            if state != "todo":
                call("task.state", task=task, state=state, force=True)
        now = int(time.time() * 1000)
        names = {name: machine_id for machine_id, (name, _) in HOSTS.items()}
        current = {
            "api-refactor": "Paginate the order list",
            "trainer": "Train with the new augmentations",
            "data-clean": "Relabel the night-time images",
            "docs-writer": "Write the on-call page",
        }
        for i, (host, name, project, status, branch, tokens, waiting) in enumerate(SESSIONS):
            session = str(uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.demo"))
            remote(
                names[host],
                "SessionObserved",
                SessionObserved(
                    session=session, host=names[host], pid=4000 + i, name=name,
                    cwd=f"/home/dev/src/{project}", project=project, branch=branch,
                    status=status, waiting_for=waiting, model="claude-sonnet",
                    started_at=now - (i + 1) * 1_800_000, last_activity=now - i * 45_000,
                    tokens_in=tokens, tokens_out=tokens // 9,
                ).to_body(),
            )  # fmt: skip
            if name in current:
                call(
                    "task.assign", task=tasks[current[name]],
                    assignee_kind="session", assignee=session,
                )  # fmt: skip
        call("task.note", task=tasks["Paginate the order list"], text="cursor-based; tests pass")


async def screenshot(base: str, out: Path) -> None:
    async with open_browser(1400, 1000) as page:
        await page.goto(base + "/")
        await page.wait_for("window.clareLive && window.clareLive.connected")
        await page.screenshot(out)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/overview.png").absolute()
    with running_clare() as inst:
        fill(inst.home)
        trio.run(screenshot, inst.base, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
