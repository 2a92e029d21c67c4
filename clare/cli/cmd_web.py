"""``clare serve``: the web page alone, in the foreground (``clare up`` runs it as a node)."""

from __future__ import annotations

import signal
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from clare.app.instance import Instance
from clare.runtime.node_names import EX_CONFIG

if TYPE_CHECKING:
    from clare.core.errors import ClareError


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default: [web] host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port (default: [web] port, 8765; 0 picks a free one).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="CLARE_WEB_TOKEN",
            help="Access token every request must carry (16+ characters); required off loopback.",
        ),
    ] = None,
) -> None:
    """Serve the status page and its JSON API until Ctrl-C.

    Bound to loopback by default, where only the user running Clare may connect.
    Binding any other address needs a token; open the page once as
    http://HOST:PORT/?token=TOKEN to store it in a cookie.
    """
    import trio

    from clare.core.errors import ConfigError
    from clare.nodes.web import serve_web
    from clare.runtime import logs
    from clare.runtime.lock import NodeLock
    from clare.web.guard import policy_for

    inst: Instance = ctx.obj
    config = inst.config
    try:
        # Checked before anything starts: a config error is one line and status 78,
        # never a traceback from inside the server's task group.
        policy_for(host or config.web_host, config.web_token if token is None else token)
    except ConfigError as exc:
        print(f"clare: {exc}", file=sys.stderr)
        raise typer.Exit(EX_CONFIG) from None
    inst.paths.ensure_runtime_dir()
    with NodeLock(inst.paths.lock_file("web")) as lock:
        lock.acquire("the web node")
        logs.setup("web")

        async def main() -> None:
            async with trio.open_nursery() as nursery:
                urls = await nursery.start(
                    lambda task_status: serve_web(
                        inst.paths, config, host=host, port=port, token=token,
                        task_status=task_status,
                    )
                )  # fmt: skip
                print(f"Clare web on {', '.join(urls)}. Ctrl-C stops it.", file=sys.stderr)
                with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
                    async for _ in signals:
                        nursery.cancel_scope.cancel()
                        break

        try:
            trio.run(main)
        except BaseExceptionGroup as group:
            # An expected failure inside the task group (a port in use): one line.
            expected = _expected(group)
            if expected is None:
                raise
            print(f"clare: {expected}", file=sys.stderr)
            raise typer.Exit(EX_CONFIG if isinstance(expected, ConfigError) else 1) from None


def _expected(group: BaseExceptionGroup[BaseException]) -> ClareError | None:
    """The ClareError a group holds if it holds nothing else; None otherwise (a bug)."""
    from clare.core.errors import ClareError

    matched, rest = group.split(ClareError)
    if matched is None or rest is not None:
        return None
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, ClareError)
    return leaf
