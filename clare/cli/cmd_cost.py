"""``clare cost``: tokens and dollars, by project, task, session, host or day."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer

from clare.app.instance import Instance
from clare.cli.output import emit_json, safe, table
from clare.domain.cost import money

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def register(app: typer.Typer) -> None:
    app.command("cost")(cost)


def cost(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="Group by project, task, session, host or day.")
    ] = "project",
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="WHEN", help="From then on: 30m, 24h, 7d, 2w, today or a date."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """What sessions spent: input, output, cache writes and cache reads, in tokens and dollars.

    Dollars come from the price table bundled with Clare (Anthropic's published
    prices, dated) or `[prices."MODEL"]` in clare.toml; a model with neither shows
    its tokens and "price unknown". A task costs what the sessions that held it
    spent while it was theirs and in progress.
    """
    from clare.app.cost import cost_report
    from clare.domain.cost import parse_when

    inst: Instance = ctx.obj
    now_ms = int(time.time() * 1000)
    since_ms = parse_when(since, now_ms) if since else 0
    report = cost_report(
        inst.views(), inst.events(), inst.config, by=by, since_ms=since_ms, now_ms=now_ms
    )
    if json_out:
        emit_json(report)
        return
    rows = [_row(r["key"], r) for r in report["rows"]]
    rows.append(_row("total", report["total"]))
    table(rows, [by, "input", "output", "cache write", "cache read", "cost"])
    prices = report["prices"]
    print(f"\nprices: {prices['source']}, taken {prices['taken_on']}", end="")
    print(f"; from clare.toml: {', '.join(prices['overridden'])}" if prices["overridden"] else "")
    for model in report["total"]["unpriced"]:
        print(f'price unknown for {safe(model)}: set [prices."{safe(model)}"] in clare.toml')


def _row(key: str, figures: dict[str, Any]) -> list[Any]:
    tokens = figures["tokens"]
    return [
        safe(key),
        tokens["input"],
        tokens["output"],
        tokens["cache_write"],
        tokens["cache_read"],
        money(figures),
    ]
