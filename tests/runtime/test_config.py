from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import pytest

from clare.core.errors import ConfigError
from clare.runtime import config, paths
from clare.runtime.config import Peer

if TYPE_CHECKING:
    from pathlib import Path


def test_init_creates_then_keeps_the_machine_id(tmp_path: Path) -> None:
    inst = paths.resolve(tmp_path / "home")
    first, created = config.init(inst, name="laptop")
    assert created
    uuid.UUID(first.machine_id)
    assert first.name == "laptop"
    assert inst.data_dir.is_dir()
    assert inst.runtime_dir.stat().st_mode & 0o777 == 0o700
    again, created_again = config.init(inst, web_port=9001, gossip_port=9002)
    assert not created_again
    assert again.machine_id == first.machine_id
    assert (again.web_port, again.gossip_port, again.name) == (9001, 9002, "laptop")
    assert config.load(inst) == again


def test_round_trip_with_peers_and_awkward_strings(tmp_path: Path) -> None:
    inst = paths.resolve(tmp_path)
    original = config.Config(
        machine_id=str(uuid.uuid4()),
        name='host "quoted" \\ back',
        groups=("gpu", "eu"),
        peers=(Peer("server", "tcp://10.0.0.2:8766", "key=with\nnewline"),),
        claude_config_dir="/home/u/.claude",
        web_max_streams=7,
        web_stream_buffer_bytes=65536,
        web_stall_timeout_s=2.5,
    )
    config.save(inst, original)
    assert config.load(inst) == original


def test_missing_config_names_clare_init(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="clare init"):
        config.load(paths.resolve(tmp_path / "nothing"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("machine_id = 'x'", "not a uuid"),
        ("not toml ===", "not valid TOML"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nport = 70000", "web.port"),
        (f"machine_id = '{uuid.uuid4()}'\ngroups = [1]", "groups"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nmax_streams = 0", "web.max_streams"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nmax_streams = 1.5", "web.max_streams"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nstream_buffer_bytes = 10", "stream_buffer"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nstall_timeout_s = true", "stall_timeout"),
        (f"machine_id = '{uuid.uuid4()}'\n[web]\nstall_timeout_s = 0", "stall_timeout"),
    ],
)
def test_bad_config_is_reported(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.parse(text)


def test_init_refuses_a_bad_port(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--web-port"):
        config.init(paths.resolve(tmp_path), web_port=0)


def test_home_and_xdg_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARE_HOME", str(tmp_path / "h"))
    assert paths.resolve().config_file == tmp_path / "h" / "clare.toml"
    monkeypatch.delenv("CLARE_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    resolved = paths.resolve()
    assert resolved.config_file == tmp_path / "cfg" / "clare" / "clare.toml"
    assert resolved.data_dir == tmp_path / "data" / "clare"


def test_ipc_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="107-byte limit"):
        paths.ipc_endpoint(tmp_path / ("x" * 120))


def test_children_open_the_same_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clare.nodes.supervisor import node_command

    monkeypatch.delenv("CLARE_HOME", raising=False)
    xdg = paths.resolve()
    assert xdg.home is None
    assert "--home" not in node_command(xdg, "writer")  # the child inherits the XDG layout
    rooted = paths.resolve(tmp_path)
    assert node_command(rooted, "writer")[-4:] == ["--home", str(tmp_path), "node", "writer"]
    assert rooted.home_hint == str(tmp_path)


def test_the_gossip_bind_defaults_to_loopback_and_is_checked(tmp_path: Path) -> None:
    inst = paths.resolve(tmp_path)
    made, _ = config.init(inst, name="h")
    assert made.gossip_bind == "127.0.0.1"
    assert 'bind = "127.0.0.1"' in inst.config_file.read_text()
    for good in ("10.8.0.2", "*", "wg0", "::1", "[fd00::2]"):
        changed, _ = config.init(inst, gossip_bind=good)
        assert config.load(inst).gossip_bind == changed.gossip_bind
    assert config.load(inst).gossip_bind == "fd00::2"
    for bad in ("", "tcp://10.0.0.2", "10.0.0.2:8766", "a b"):
        with pytest.raises(ConfigError, match="--gossip-bind"):
            config.init(inst, gossip_bind=bad)
    text = inst.config_file.read_text().replace('bind = "fd00::2"', "bind = 7")
    with pytest.raises(ConfigError, match=r"gossip\.bind must be"):
        config.parse(text)


def test_an_older_config_without_a_bind_listens_on_loopback(tmp_path: Path) -> None:
    text = f'machine_id = "{uuid.uuid4()}"\nname = "old"\n[gossip]\nport = 8766\n'
    assert config.parse(text).gossip_bind == "127.0.0.1"


def test_decision_wait_and_push_urls_round_trip_and_are_checked() -> None:
    machine = str(uuid.uuid4())
    made = config.Config(
        machine_id=machine, name="x", decision_wait_s=45,
        push_urls=("ntfy://ntfy.sh/clare-x", 'json://127.0.0.1:9/"q"'), push_min_interval_s=5.0,
    )  # fmt: skip
    assert config.parse(made.to_toml()) == made
    defaults = config.parse(f'machine_id = "{machine}"\nname = "x"\n')
    assert (defaults.decision_wait_s, defaults.push_urls) == (config.DEFAULT_DECISION_WAIT_S, ())
    with pytest.raises(ConfigError, match="decision_wait_s"):
        config.parse(f'machine_id = "{machine}"\n[decisions]\ndecision_wait_s = 0\n')
    with pytest.raises(ConfigError, match=r"push\.urls"):
        config.parse(f'machine_id = "{machine}"\n[push]\nurls = "ntfy://x"\n')


def test_dispatch_is_off_unless_its_owner_turns_it_on() -> None:
    base = f"machine_id = '{uuid.uuid4()}'\nname = 'h'\n"
    off = config.parse(base)
    assert (off.dispatch_enabled, off.dispatch_max_sessions) == (False, 4)
    assert (off.dispatch_permission_mode, off.dispatch_command) == ("default", "claude")
    on = config.parse(
        base + "[dispatch]\nenabled = true\nmax_sessions = 2\npermission_mode = 'acceptEdits'\n"
    )
    assert (on.dispatch_enabled, on.dispatch_max_sessions) == (True, 2)
    assert config.parse(on.to_toml()) == on
    for bad, what in (
        ("enabled = 'yes'", "dispatch.enabled"),
        ("max_sessions = 0", "dispatch.max_sessions"),
        ("permission_mode = 'yolo'", "dispatch.permission_mode"),
    ):
        with pytest.raises(ConfigError, match=what):
            config.parse(base + "[dispatch]\n" + bad)


def test_the_advertised_endpoint_follows_bind_unless_set() -> None:

    from clare.runtime.config import Config, advertised_endpoint, parse

    base = Config(machine_id="00000000-0000-4000-8000-000000000001", name="h", gossip_port=9000)
    assert advertised_endpoint(base) == "tcp://127.0.0.1:9000"
    assert advertised_endpoint(base.replace(gossip_bind="10.8.0.2")) == "tcp://10.8.0.2:9000"
    assert advertised_endpoint(base.replace(gossip_bind="fd00::2")) == "tcp://[fd00::2]:9000"
    chosen = base.replace(gossip_bind="10.8.0.2", sync_advertise="tcp://vpn.example:9000")
    assert advertised_endpoint(chosen) == "tcp://vpn.example:9000"
    again = parse(chosen.to_toml())
    assert (again.sync_advertise, again.sync_max_links) == ("tcp://vpn.example:9000", 8)
