"""Push notifications through apprise (``pip install 'clare[push]'``), off every hot path.

Runs inside the poller node as a task of its own: it reads the views once a
second, asks :class:`clare.app.push.PushPlanner` what is new, and sends at
most one notification per ``push.min_interval_s`` to every URL of
``push.urls``. apprise sends synchronously over the network, so each send
runs in a worker thread with a deadline, and only one at a time: a slow or
unreachable service delays the next notification, never the poller's passes,
and a failure is logged, never raised.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from clare.app.push import Notice, PushPlanner
from clare.core.errors import ClareError
from clare.runtime.logs import get
from clare.store import queries_decisions, queries_sessions
from clare.store.sqlite import open_reader

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from clare.runtime.config import Config
    from clare.runtime.paths import InstancePaths

log = get("clare.push")

READ_EVERY_S = 1.0
SEND_TIMEOUT_S = 30.0


class PushUnavailable(ClareError):
    """Push URLs are configured but apprise is not installed (the user's setup)."""

    code = "push_unavailable"


def apprise_send(urls: Sequence[str], notice: Notice) -> bool:
    """Send ``notice`` to every URL with apprise; True if every one took it."""
    try:
        import apprise
    except ImportError as exc:
        raise PushUnavailable(
            "push.urls are set in clare.toml but apprise is missing: pip install 'clare[push]'"
        ) from exc
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            log.warning("push URL not understood by apprise", url=url.split(":", 1)[0] + ":...")
    return bool(sender.notify(title=notice.title, body=notice.body))


def _read(paths: InstancePaths) -> tuple[list[dict[str, Any]], list[dict[str, Any]]] | None:
    if not paths.views_db.exists():
        return None
    try:
        conn = open_reader(paths.views_db)
    except ClareError:
        return None
    try:
        decisions = queries_decisions.list_decisions(conn)
        waiting = [s for s in queries_sessions.list_sessions(conn) if s["status"] == "waiting"]
        return decisions, waiting
    except Exception as exc:  # views being migrated or rebuilt: the next read
        log.info("push read failed", error=repr(exc))
        return None
    finally:
        conn.close()


async def serve_push(
    paths: InstancePaths,
    config: Config,
    *,
    send: Callable[[Sequence[str], Notice], bool] = apprise_send,
    read_every_s: float = READ_EVERY_S,
    task_status: trio.TaskStatus[PushPlanner] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Notify ``config.push_urls`` of new decisions and waits until cancelled."""
    planner = PushPlanner(config.push_min_interval_s)
    task_status.started(planner)
    if not config.push_urls:
        await trio.sleep_forever()
    sending = False

    async def deliver(notice: Notice) -> None:
        nonlocal sending
        try:
            with trio.move_on_after(SEND_TIMEOUT_S) as scope:
                sent = await trio.to_thread.run_sync(
                    send, config.push_urls, notice, abandon_on_cancel=True
                )
            if scope.cancelled_caught:
                log.warning("push timed out", timeout_s=SEND_TIMEOUT_S)
            elif not sent:
                log.warning("push not taken by every URL", title=notice.title)
        except PushUnavailable as exc:
            log.error("push unavailable", error=str(exc))
        except Exception as exc:  # a service's failure must never end the node
            log.warning("push failed", error=repr(exc))

        finally:
            sending = False

    async with trio.open_nursery() as nursery:
        while True:
            seen = await trio.to_thread.run_sync(_read, paths)
            if seen is not None:
                planner.observe(*seen)
            if not sending and (notice := planner.due(trio.current_time())) is not None:
                sending = True
                nursery.start_soon(deliver, notice)
            await trio.sleep(read_every_s)
