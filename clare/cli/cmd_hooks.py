"""``clare hooks install|uninstall|status``: Clare's hooks in Claude Code's settings.json."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from clare.app.agent import claude_folder
from clare.app.instance import Instance
from clare.cli.output import emit_json
from clare.core.errors import ConfigError
from clare.sessions import hook_files, hooks_settings

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
SettingsOpt = Annotated[
    Path | None,
    typer.Option("--settings", help="The settings.json (default: Claude Code's own)."),
]

hooks_app = typer.Typer(help="Claude Code hooks that report to Clare.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(hooks_app, name="hooks")


def _settings_path(inst: Instance, given: Path | None) -> Path:
    return given if given is not None else claude_folder(inst) / "settings.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc}); fix it first") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} does not hold a JSON object")
    return data


def _write(path: Path, before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """Write ``after`` if it differs; returns the backup made of the old file, if any."""
    if after == before and path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        backup = f"{path}.bak-{time.strftime('%Y%m%d-%H%M%S')}"
        shutil.copy2(path, backup)
    tmp = path.with_name(path.name + ".clare-tmp")
    tmp.write_text(json.dumps(after, indent=2) + "\n")
    os.replace(tmp, path)
    return backup


def program() -> str:
    """How a hook starts Clare: the installed ``clare`` script, else this Python."""
    found = shutil.which("clare")
    return found if found else f"{sys.executable} -m clare"


@hooks_app.command("install")
def install(ctx: typer.Context, settings: SettingsOpt = None, json_out: JsonOpt = False) -> None:
    """Add Clare's hooks (keeps every other hook; backs the file up first)."""
    inst: Instance = ctx.obj
    path = _settings_path(inst, settings)
    home = ctx.find_root().params.get("home")
    before = _read(path)
    after = hooks_settings.install(
        before,
        program(),
        str(inst.paths.home_hint) if home else None,
        decision_wait_s=inst.config.decision_wait_s,
    )
    backup = _write(path, before, after)
    hook_files.remember(inst.paths, path)  # so that `clare doctor` looks there too
    result = {
        "settings": str(path),
        "changed": after != before,
        "backup": backup,
        "events": hooks_settings.installed_events(after),
    }
    if json_out:
        emit_json(result)
    else:
        what = "installed in" if result["changed"] else "already in"
        print(f"Clare's hooks {what} {path}" + (f" (backup {backup})" if backup else ""))


@hooks_app.command("uninstall")
def uninstall(ctx: typer.Context, settings: SettingsOpt = None, json_out: JsonOpt = False) -> None:
    """Remove exactly Clare's hooks."""
    inst: Instance = ctx.obj
    path = _settings_path(inst, settings)
    before = _read(path)
    after = hooks_settings.uninstall(before)
    backup = _write(path, before, after) if after != before else None
    hook_files.forget(inst.paths, path)
    result = {"settings": str(path), "changed": after != before, "backup": backup}
    if json_out:
        emit_json(result)
    else:
        print(f"Clare's hooks removed from {path}" if result["changed"] else "no Clare hooks")


@hooks_app.command("status")
def status(ctx: typer.Context, settings: SettingsOpt = None, json_out: JsonOpt = False) -> None:
    """Which of Clare's hooks a settings file has."""
    inst: Instance = ctx.obj
    path = _settings_path(inst, settings)
    events = hooks_settings.installed_events(_read(path))
    missing = [e for e in hooks_settings.HOOK_EVENTS if e not in events]
    if json_out:
        emit_json({"settings": str(path), "events": events, "missing": missing})
    else:
        print(f"{path}: {', '.join(events) or 'no Clare hooks'}")
        if missing and events:
            print(f"missing: {', '.join(missing)} (run `clare hooks install`)")
