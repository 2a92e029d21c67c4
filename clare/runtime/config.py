"""The instance's ``clare.toml``: identity, ports, peers, session sources.

Read with :mod:`tomllib`; written by our own small serializer, because the file
has a fixed shape and a dependency for writing TOML is not worth it. The
machine id is made once and never changed: every event this host ever made
carries it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
import uuid
from typing import TYPE_CHECKING, Any

from clare.core.errors import ConfigError, UsageError
from clare.core.record import Record

if TYPE_CHECKING:
    from clare.runtime.paths import InstancePaths

DEFAULT_WEB_PORT = 8765
DEFAULT_GOSSIP_PORT = 8766
#: Live streams (``/api/v1/stream``) one web node serves at once; more are told to retry.
DEFAULT_WEB_MAX_STREAMS = 100
#: What one stream may hold for its client: queued events, a replay batch, in bytes.
DEFAULT_WEB_STREAM_BUFFER_BYTES = 256 * 1024
#: A client that takes none of what was sent for this long is disconnected.
DEFAULT_WEB_STALL_TIMEOUT_S = 30.0
DEFAULT_ARCHIVE_AFTER_DAYS = 14
#: How long a PermissionRequest hook waits for an answer from any host (the terminal's
#: dialog stays open meanwhile, so a long wait takes nothing from the person there).
DEFAULT_DECISION_WAIT_S = 300
MAX_DECISION_WAIT_S = 24 * 3600
#: Push notifications of one host are sent at most this often (more are gathered).
DEFAULT_PUSH_MIN_INTERVAL_S = 30.0
DEFAULT_DISPATCH_MAX_SESSIONS = 4
#: A dispatch request older than this when its host first sees it is refused, not
#: started late (after a partition heals, say).
DEFAULT_DISPATCH_MAX_AGE_S = 600
#: Claude Code's permission modes (``--permission-mode``).
PERMISSION_MODES = ("default", "acceptEdits", "plan", "dontAsk", "bypassPermissions")
#: Where the gossip ROUTER listens unless ``[gossip] bind`` says otherwise. Loopback:
#: a host syncs with others only once its owner names the interface they reach it
#: on (a WireGuard address, say), so a fresh instance opens no port to the network.
DEFAULT_GOSSIP_BIND = "127.0.0.1"
DEFAULT_MAX_LINKS = 8
_BIND_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$")


class Peer(Record):
    name: str
    endpoint: str
    key: str


class Config(Record):
    machine_id: str
    name: str
    groups: tuple[str, ...] = ()
    web_port: int = DEFAULT_WEB_PORT
    gossip_port: int = DEFAULT_GOSSIP_PORT
    gossip_bind: str = DEFAULT_GOSSIP_BIND
    web_host: str = "127.0.0.1"
    web_token: str = ""
    web_max_streams: int = DEFAULT_WEB_MAX_STREAMS
    web_stream_buffer_bytes: int = DEFAULT_WEB_STREAM_BUFFER_BYTES
    web_stall_timeout_s: float = DEFAULT_WEB_STALL_TIMEOUT_S
    max_clock_offset_ms: int = 500
    peers: tuple[Peer, ...] = ()
    claude_config_dir: str = ""
    rclaude_command: str = ""
    #: Done and cancelled tasks unchanged this long leave the board and the default
    #: list (they stay in the log and in `task list --all`); 0 keeps them shown.
    archive_after_days: int = DEFAULT_ARCHIVE_AFTER_DAYS
    #: ``[prices."MODEL"]`` tables: dollars per million tokens, in the order of
    #: ``PRICE_FIELDS``; they replace the bundled rates of those models.
    prices: tuple[tuple[str, tuple[float, ...]], ...] = ()
    decision_wait_s: int = DEFAULT_DECISION_WAIT_S
    #: apprise URLs this host sends push notifications to (``clare[push]``); none: no push.
    push_urls: tuple[str, ...] = ()
    push_min_interval_s: float = DEFAULT_PUSH_MIN_INTERVAL_S
    #: ``[dispatch]``: whether other hosts (and this one) may start Claude Code here. Off
    #: until the owner turns it on; the permission mode is never loosened on anyone's behalf.
    dispatch_enabled: bool = False
    dispatch_max_sessions: int = DEFAULT_DISPATCH_MAX_SESSIONS
    dispatch_permission_mode: str = "default"
    dispatch_command: str = "claude"
    dispatch_max_age_s: int = DEFAULT_DISPATCH_MAX_AGE_S
    #: The endpoint this host gives others to reach its gossip port (``[sync] advertise``);
    #: empty: derived from ``[gossip] bind`` (see :func:`advertised_endpoint`).
    sync_advertise: str = ""
    #: Fleet members this host links to at most (introductions come on top).
    sync_max_links: int = DEFAULT_MAX_LINKS

    def to_toml(self) -> str:
        q = json.dumps  # a JSON string literal is a valid TOML basic string
        lines = [
            "# Clare instance configuration. machine_id must never change.",
            f"machine_id = {q(self.machine_id)}",
            f"name = {q(self.name)}",
            f"groups = [{', '.join(q(g) for g in self.groups)}]",
            f"max_clock_offset_ms = {self.max_clock_offset_ms}",
            "",
            "[web]",
            f"host = {q(self.web_host)}",
            f"port = {self.web_port}",
            f"token = {q(self.web_token)}",
            f"max_streams = {self.web_max_streams}",
            f"stream_buffer_bytes = {self.web_stream_buffer_bytes}",
            f"stall_timeout_s = {self.web_stall_timeout_s}",
            "",
            "[gossip]",
            f"port = {self.gossip_port}",
            f"bind = {q(self.gossip_bind)}",
            "",
            "[sync]",
            f"advertise = {q(self.sync_advertise)}",
            f"max_links = {self.sync_max_links}",
            "",
            "[sessions]",
            f"claude_config_dir = {q(self.claude_config_dir)}",
            f"rclaude_command = {q(self.rclaude_command)}",
            "",
            "[tasks]",
            f"archive_after_days = {self.archive_after_days}",
            "",
            "[decisions]",
            f"decision_wait_s = {self.decision_wait_s}",
            "",
            "[push]",
            f"urls = [{', '.join(q(u) for u in self.push_urls)}]",
            f"min_interval_s = {self.push_min_interval_s}",
            "[dispatch]",
            f"enabled = {'true' if self.dispatch_enabled else 'false'}",
            f"max_sessions = {self.dispatch_max_sessions}",
            f"permission_mode = {q(self.dispatch_permission_mode)}",
            f"command = {q(self.dispatch_command)}",
            f"max_age_s = {self.dispatch_max_age_s}",
        ]
        for model, rates in self.prices:
            lines += ["", f"[prices.{q(model)}]"]
            lines += [f"{name} = {rate!r}" for name, rate in zip(PRICE_FIELDS, rates, strict=True)]
        for peer in self.peers:
            lines += [
                "",
                "[[peers]]",
                f"name = {q(peer.name)}",
                f"endpoint = {q(peer.endpoint)}",
                f"key = {q(peer.key)}",
            ]
        return "\n".join(lines) + "\n"


PRICE_FIELDS = ("input", "output", "cache_write", "cache_write_1h", "cache_read")


def _prices(raw: object, source: str) -> tuple[tuple[str, tuple[float, ...]], ...]:
    """``[prices."MODEL"]`` tables, each with every one of ``PRICE_FIELDS``: a rate left
    out would otherwise have to be guessed."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: [prices] must hold one table per model")
    out = []
    for model, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f'{source}: [prices."{model}"] must be a table of rates')
        missing = [name for name in PRICE_FIELDS if name not in table]
        if missing:
            raise ConfigError(
                f'{source}: [prices."{model}"] lacks {", ".join(missing)} (dollars per '
                "million tokens; every one is needed)"
            )
        rates = tuple(
            float(_bounded(table[name], f"prices.{model}.{name}", 0, 1_000_000, float))
            for name in PRICE_FIELDS
        )
        out.append((model, rates))
    return tuple(out)


def _port(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
        raise ConfigError(f"{what} must be a port number from 1 to 65535, not {value!r}")
    return value


def _bounded(value: object, what: str, low: float, high: float, kind: type = int) -> Any:
    """A number from ``low`` to ``high``; an int for ``kind=int``, else int or float."""
    wanted = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, wanted) or not low <= value <= high:
        noun = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{what} must be {noun} from {low:g} to {high:g}, not {value!r}")
    return value


def check_bind(value: object, what: str = "gossip.bind") -> str:
    """An address to listen on: an IP address, an interface or host name, or ``*`` (all)."""
    import ipaddress  # here alone: every command loads the config, few change this

    if isinstance(value, str):
        if value == "*" or _BIND_NAME.match(value):
            return value
        with contextlib.suppress(ValueError):
            return str(ipaddress.ip_address(value.strip("[]")))
    raise ConfigError(f"{what} must be an IP address, an interface name or '*', not {value!r:.80}")


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{what} must be a string, not {value!r}")
    return value


def _hostname() -> str:
    # Imported here alone: every command loads the config, and one naming its host
    # (as every config `clare init` writes does) needs no hostname.
    import socket

    return socket.gethostname()


def parse(text: str, source: str = "clare.toml") -> Config:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}") from exc
    machine_id = _text(raw.get("machine_id"), "machine_id")
    try:
        uuid.UUID(machine_id)
    except ValueError as exc:
        raise ConfigError(f"{source}: machine_id {machine_id!r} is not a uuid") from exc
    web = raw.get("web", {})
    gossip = raw.get("gossip", {})
    sessions = raw.get("sessions", {})
    groups = raw.get("groups", [])
    if not isinstance(groups, list) or not all(isinstance(g, str) for g in groups):
        raise ConfigError(f"{source}: groups must be a list of strings")
    peers = []
    for entry in raw.get("peers", []):
        if not isinstance(entry, dict):
            raise ConfigError(f"{source}: each [[peers]] must be a table")
        peers.append(
            Peer(
                name=_text(entry.get("name"), "peer name"),
                endpoint=_text(entry.get("endpoint"), "peer endpoint"),
                key=_text(entry.get("key"), "peer key"),
            )
        )
    sync = raw.get("sync", {})
    if not isinstance(sync, dict):
        raise ConfigError(f"{source}: [sync] must be a table")
    tasks = raw.get("tasks", {})
    if not isinstance(tasks, dict):
        raise ConfigError(f"{source}: [tasks] must be a table")
    archive = tasks.get("archive_after_days", DEFAULT_ARCHIVE_AFTER_DAYS)
    if not isinstance(archive, int) or isinstance(archive, bool) or archive < 0:
        raise ConfigError(f"{source}: tasks.archive_after_days must be a whole number, 0 or more")
    decisions = raw.get("decisions", {})
    push = raw.get("push", {})
    if not isinstance(decisions, dict) or not isinstance(push, dict):
        raise ConfigError(f"{source}: [decisions] and [push] must be tables")
    push_urls = push.get("urls", [])
    if not isinstance(push_urls, list) or not all(isinstance(u, str) for u in push_urls):
        raise ConfigError(f"{source}: push.urls must be a list of strings")
    dispatch = _dispatch(raw.get("dispatch", {}), source)
    offset = raw.get("max_clock_offset_ms", 500)
    if not isinstance(offset, int) or offset < 0:
        raise ConfigError(f"{source}: max_clock_offset_ms must be a non-negative integer")
    return Config(
        machine_id=machine_id,
        name=_text(raw["name"] if "name" in raw else _hostname(), "name"),
        groups=tuple(groups),
        web_port=_port(web.get("port", DEFAULT_WEB_PORT), "web.port"),
        web_host=_text(web.get("host", "127.0.0.1"), "web.host"),
        web_token=_text(web.get("token", ""), "web.token"),
        web_max_streams=_bounded(
            web.get("max_streams", DEFAULT_WEB_MAX_STREAMS), "web.max_streams", 1, 100_000
        ),
        web_stream_buffer_bytes=_bounded(
            web.get("stream_buffer_bytes", DEFAULT_WEB_STREAM_BUFFER_BYTES),
            "web.stream_buffer_bytes",
            16 * 1024,
            64 * 1024 * 1024,
        ),
        web_stall_timeout_s=float(
            _bounded(
                web.get("stall_timeout_s", DEFAULT_WEB_STALL_TIMEOUT_S),
                "web.stall_timeout_s",
                1,
                3600,
                float,
            )
        ),
        gossip_port=_port(gossip.get("port", DEFAULT_GOSSIP_PORT), "gossip.port"),
        gossip_bind=check_bind(gossip.get("bind", DEFAULT_GOSSIP_BIND)),
        max_clock_offset_ms=offset,
        peers=tuple(peers),
        claude_config_dir=_text(sessions.get("claude_config_dir", ""), "claude_config_dir"),
        rclaude_command=_text(sessions.get("rclaude_command", ""), "rclaude_command"),
        archive_after_days=archive,
        prices=_prices(raw.get("prices", {}), source),
        decision_wait_s=_bounded(
            decisions.get("decision_wait_s", DEFAULT_DECISION_WAIT_S),
            "decisions.decision_wait_s",
            1,
            MAX_DECISION_WAIT_S,
        ),
        push_urls=tuple(push_urls),
        push_min_interval_s=float(
            _bounded(
                push.get("min_interval_s", DEFAULT_PUSH_MIN_INTERVAL_S),
                "push.min_interval_s",
                0,
                86_400,
                float,
            )
        ),
        **dispatch,
        sync_advertise=_text(sync.get("advertise", ""), "sync.advertise"),
        sync_max_links=_bounded(
            sync.get("max_links", DEFAULT_MAX_LINKS), "sync.max_links", 1, 1000
        ),
    )


def _dispatch(table: object, source: str) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [dispatch] must be a table")
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{source}: dispatch.enabled must be true or false")
    mode = _text(table.get("permission_mode", "default"), "dispatch.permission_mode")
    if mode not in PERMISSION_MODES:
        raise ConfigError(
            f"{source}: dispatch.permission_mode must be one of {', '.join(PERMISSION_MODES)}"
        )
    command = _text(table.get("command", "claude"), "dispatch.command")
    if not command.strip():
        raise ConfigError(f"{source}: dispatch.command must name the claude program")
    return {
        "dispatch_enabled": enabled,
        "dispatch_max_sessions": _bounded(
            table.get("max_sessions", DEFAULT_DISPATCH_MAX_SESSIONS),
            "dispatch.max_sessions",
            1,
            1000,
        ),
        "dispatch_permission_mode": mode,
        "dispatch_command": command,
        "dispatch_max_age_s": _bounded(
            table.get("max_age_s", DEFAULT_DISPATCH_MAX_AGE_S), "dispatch.max_age_s", 1, 86_400
        ),
    }


def load(paths: InstancePaths) -> Config:
    try:
        text = paths.config_file.read_text()
    except FileNotFoundError as exc:
        raise ConfigError(
            f"no Clare instance at {paths.home_hint}: run `clare init` first"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {paths.config_file}: {exc}") from exc
    return parse(text, str(paths.config_file))


def save(paths: InstancePaths, config: Config) -> None:
    """Write atomically and privately: a crash mid-write never leaves a half config."""
    paths.config_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = paths.config_file.with_suffix(".toml.tmp")
    # Private from the first byte: the file can hold the web token.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(config.to_toml())
    os.chmod(tmp, 0o600)
    os.replace(tmp, paths.config_file)


def init(
    paths: InstancePaths,
    *,
    name: str | None = None,
    web_port: int | None = None,
    gossip_port: int | None = None,
    gossip_bind: str | None = None,
) -> tuple[Config, bool]:
    """Create the instance, or update the given settings of an existing one.

    Returns the config and whether it was newly created. The machine id of an
    existing instance is never changed.
    """
    created = not paths.config_file.exists()
    if created:
        config = Config(machine_id=str(uuid.uuid4()), name=name or _hostname())
    else:
        config = load(paths)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if web_port is not None:
        changes["web_port"] = _port(web_port, "--web-port")
    if gossip_port is not None:
        changes["gossip_port"] = _port(gossip_port, "--gossip-port")
    if gossip_bind is not None:
        changes["gossip_bind"] = check_bind(gossip_bind, "--gossip-bind")
    if changes:
        config = config.replace(**changes)
    if config.web_port == config.gossip_port:
        raise UsageError(
            f"the web page and sync cannot share port {config.web_port}: "
            "give --web-port and --gossip-port different ports"
        )
    if created or changes:
        save(paths, config)
    paths.ensure_data_dir()
    paths.ensure_runtime_dir()
    return config, created


def write_peers(paths: InstancePaths, peers: tuple[Peer, ...]) -> Config:
    config = load(paths).replace(peers=peers)
    save(paths, config)
    return config


def advertised_endpoint(config: Config) -> str:
    """Where other hosts reach this one's gossip port: ``[sync] advertise`` if set,
    else the ``[gossip] bind`` address (this host's name when it binds every interface)."""
    if config.sync_advertise:
        return config.sync_advertise
    host = config.gossip_bind
    if host == "*":
        host = _hostname()
    elif ":" in host:
        host = f"[{host}]"
    return f"tcp://{host}:{config.gossip_port}"
