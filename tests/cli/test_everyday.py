from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from clare.core.errors import UsageError
from clare.nodes.writer_ingest import remote_event_wire
from clare.ops import doctor
from clare.ops.checks import Status
from clare.runtime import config as config_mod
from clare.runtime import paths as paths_mod
from clare.runtime.config import DEFAULT_GOSSIP_PORT
from clare.runtime.lock import NodeLock
from clare.store import queries_tasks
from clare.store.eventlog import read_after
from tests.cli.conftest import Cli
from tests.sessions.views_data import Fleet

PEER = "00000000-0000-4000-8000-00000000000b"

if TYPE_CHECKING:
    from pathlib import Path


def test_log_kind_filter_finds_old_events_on_a_busy_host(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    cli.fleet.call("project.add", name="beta")
    task = cli.fleet.call("task.add", project="alpha", title="busy")["task"]
    for i in range(20):
        cli.fleet.call("task.note", task=task, text=f"note {i}")
    rows = cli.json("log", "--kind", "Project*", "--limit", "2")
    assert [r["data"]["project"] for r in rows] == ["beta", "alpha"]


def test_log_kind_glob_keeps_fnmatch_negated_sets(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    cli.fleet.call("task.note", task=task, text="n")
    kinds = {r["kind"] for r in cli.json("log", "--kind", "Task[!C]*")}
    assert kinds == {"TaskNoted"}


def test_sync_now_is_not_settled_while_a_peer_is_down(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from clare.cli import cmd_sync

    round_ = {
        "settled": True,
        "peers": [{"name": "server", "connected": False, "received": 0, "sent": 0,
                   "we_lack": 0, "they_lack": 0}],
    }  # fmt: skip
    monkeypatch.setattr(cmd_sync, "_gossip", lambda *a: round_)
    result = cli.run("sync", "now", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["settled"] is False
    assert json.loads(result.stdout)["down"] == ["server"]
    result = cli.run("sync", "now")
    assert result.exit_code == 1
    assert "in sync" not in result.stdout
    assert "no link to server" in result.stderr


def test_an_empty_value_clears_tags_and_dependencies(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    first = cli.fleet.call("task.add", project="alpha", title="first")["task"]
    task = cli.ok("task", "add", "second", "-p", "alpha", "--tag", "x",
                  "--depends-on", first).strip()  # fmt: skip
    cli.ok("task", "update", task, "--depends-on", "", "--tag", "")
    shown = cli.json("task", "show", task)
    assert (shown["depends_on"], shown["tags"]) == ([], [])


def test_an_empty_task_id_is_refused_not_read_as_a_prefix(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    cli.fleet.call("task.add", project="alpha", title="only one")
    assert "give a task id" in cli.error("task", "show", "")
    assert "give a session id" in cli.error("session", "show", "")


def test_show_says_why_a_task_waiting_on_a_cancelled_one_is_never_ready(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    first = cli.fleet.call("task.add", project="alpha", title="first")["task"]
    task = cli.fleet.call("task.add", project="alpha", title="then", depends_on=[first])["task"]
    cli.fleet.call("task.state", task=first, state="cancelled")
    shown = cli.json("task", "show", task)
    assert shown["waiting_on"] == [{"task": first, "state": "cancelled"}]
    assert f"never ready while {first} was cancelled" in cli.ok("task", "show", task)


def test_status_shows_a_host_last_seen_at_its_newest_event(cli: Cli) -> None:
    cli.fleet.call("host.name", name="laptop")
    named = cli.json("status")["hosts"][0]["last_seen"]
    cli.fleet.call("project.add", name="alpha")
    for i in range(3):
        cli.fleet.call("project.update", name="alpha", description=f"v{i}")
    (host,) = cli.json("status")["hosts"]
    assert host["named_at"] == named
    newest = cli.json("log", "--limit", "1")[0]["at"]
    assert host["last_seen"] == newest != named


def test_project_path_must_exist_and_is_stored_absolute(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path)
    assert "does not exist" in cli.error("project", "add", "alpha", "--path", "nosuch")
    cli.ok("project", "add", "alpha", "--path", "repo")
    (path,) = cli.json("project", "show", "alpha")["paths"].values()
    assert path == str(tmp_path / "repo")


def test_project_path_sets_this_hosts_folder_and_show_lists_them_by_host(
    cli: Cli, tmp_path: Path
) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    cli.ok("project", "add", "alpha")
    assert cli.json("project", "show", "alpha")["paths_by_host"] == {}
    cli.ok("project", "path", "alpha", str(tmp_path / "one"))
    cli.ok("project", "path", "alpha", str(tmp_path / "two"))
    shown = cli.json("project", "show", "alpha")
    (host,) = shown["paths_by_host"]
    assert shown["paths_by_host"][host] == str(tmp_path / "two")
    assert f"path on {host}: {tmp_path / 'two'}" in cli.ok("project", "show", "alpha")
    assert "does not exist" in cli.error("project", "path", "alpha", str(tmp_path / "nope"))


def test_a_relative_project_path_from_any_client_is_refused(cli: Cli) -> None:
    with pytest.raises(UsageError, match="absolute"):
        cli.fleet.call("project.add", name="alpha", path="src/alpha")
    cli.fleet.call("project.add", name="alpha", path="/src/alpha")
    with pytest.raises(UsageError, match="absolute"):
        cli.fleet.call("project.update", name="alpha", path="alpha")


def test_init_refuses_one_port_for_web_and_sync(cli: Cli) -> None:
    assert "cannot share port 9000" in cli.error(
        "init", "--web-port", "9000", "--gossip-port", "9000"
    )
    assert "cannot share port" in cli.error("init", "--web-port", str(DEFAULT_GOSSIP_PORT))


def test_init_on_a_running_instance_says_what_changed_and_that_a_restart_is_needed(
    cli: Cli,
) -> None:
    result = cli.run("init")
    assert "nothing changed" in result.stderr
    cli.paths.ensure_runtime_dir()
    with NodeLock(cli.paths.lock_file("writer")) as lock:
        lock.acquire("a test writer")
        result = cli.run("init", "--web-port", "9100")
        assert "web_port 8765 -> 9100" in result.stderr
        assert "restart" in result.stderr
        again = cli.json("init", "--web-port", "9100")
    assert again["changed"] == {}
    assert not again["restart_needed"]


def test_filters_naming_nothing_known_are_refused(cli: Cli) -> None:
    cli.fleet.call("host.name", name="laptop")
    cli.fleet.call("project.add", name="alpha")
    assert "no project 'nosuch'" in cli.error("task", "list", "-p", "nosuch")
    assert "no project 'nosuch'" in cli.error("session", "list", "-p", "nosuch")
    assert "no host 'nosuch'" in cli.error("session", "list", "--host", "nosuch")
    assert "no session, host or group 'host:nosuch'" in cli.error(
        "task", "list", "--assignee", "host:nosuch"
    )
    assert "'nosuch'" in cli.error("task", "list", "--assignee", "nosuch")
    assert cli.json("task", "list", "--assignee", "host:laptop") == []
    assert cli.json("task", "list", "-p", "alpha") == []
    assert cli.json("session", "list", "--host", "laptop") == []


def test_task_history_names_the_host(cli: Cli) -> None:
    cli.fleet.call("host.name", name="laptop")
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    assert {e["host"] for e in cli.json("task", "show", task)["history"]} == {"laptop"}


def test_an_update_that_changes_nothing_records_nothing(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t", priority=2)["task"]
    before = len(cli.json("log"))
    assert "nothing to change" in cli.error("task", "update", task, "--title", "t")
    cli.ok("task", "update", task, "--title", "t", "--priority", "3")
    assert len(cli.json("log")) == before + 1
    edit = cli.json("log", "--limit", "1")[0]["data"]
    assert (edit["title"], edit["priority"]) == (None, 3)


def test_a_title_race_between_two_hosts_converges_with_the_loser_shown(tmp_path: Path) -> None:
    here = Fleet(tmp_path / "a")
    there = Fleet(tmp_path / "b", machine_id="00000000-0000-4000-8000-00000000000b")
    here.call("project.add", name="alpha")
    task = here.call("task.add", project="alpha", title="old")["task"]
    there.call("ingest", events=[remote_event_wire(e) for e in read_after(here.core.conn, 0, 99)])
    here.call("task.update", task=task, title="here's")
    there.call("task.update", task=task, title="there's")
    ours, theirs = (read_after(f.core.conn, 0, 99) for f in (here, there))
    here.call("ingest", events=[remote_event_wire(e) for e in theirs])
    there.call("ingest", events=[remote_event_wire(e) for e in ours])
    shown = [queries_tasks.get_task(f.views, f.core.conn, task) for f in (here, there)]
    assert shown[0]["title"] == shown[1]["title"]
    assert shown[0]["conflicts"] == shown[1]["conflicts"]
    (conflict,) = shown[0]["conflicts"]
    assert conflict["field"] == "title"
    loser = ({"here's", "there's"} - {shown[0]["title"]}).pop()
    assert repr(loser) in conflict["description"]


def test_doctor_looks_where_hooks_install_settings_put_them(cli: Cli, tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    claude.mkdir()
    elsewhere = tmp_path / "project" / "settings.json"
    cli.ok("hooks", "install", "--settings", str(elsewhere))
    env = {"CLAUDE_CONFIG_DIR": str(claude)}
    checks = {c.name: c for c in doctor.run_checks(cli.paths, env)}
    assert checks["hooks"].status is Status.OK, checks["hooks"]
    cli.ok("hooks", "uninstall", "--settings", str(elsewhere))
    checks = {c.name: c for c in doctor.run_checks(cli.paths, env)}
    assert checks["hooks"].status is Status.FAILURE


def test_assigning_or_sending_to_an_ended_session_is_refused(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    cli.fleet.session("s-gone", status="ended")
    cli.fleet.session("s-live", status="idle")
    assert "s-gone has ended" in cli.error("assign", task, "s-gone")
    with pytest.raises(UsageError, match="has ended"):
        cli.fleet.call("message.send", target="session:s-gone", text="hi", sent_at=1)
    cli.ok("assign", task, "s-live")
    cli.fleet.call("message.send", target="session:s-live", text="hi", sent_at=1)


def test_task_list_searches_and_filters(cli: Cli) -> None:
    cli.fleet.session("s1", status="idle")
    cli.fleet.call("project.add", name="alpha")
    parser = cli.fleet.call("task.add", project="alpha", title="Write the Parser",
                            tags=["code"], priority=2)["task"]  # fmt: skip
    docs = cli.fleet.call("task.add", project="alpha", title="docs", body="explain the parser",
                          tags=["docs"], priority=1)["task"]  # fmt: skip
    odd = cli.fleet.call("task.add", project="alpha", title="100% done_ish")["task"]
    cli.fleet.call("task.assign", task=docs, assignee_kind="session", assignee="s1")

    def ids(*argv: str) -> list[str]:
        return [t["id"] for t in cli.json("task", "list", *argv)]

    assert ids("--search", "parser") == [parser, docs]
    assert ids("--search", "write parser") == [parser]
    assert ids("--search", "%") == [odd]
    assert ids("--search", "_") == [odd]
    assert ids("--tag", "docs") == [docs]
    assert ids("--assignee", "session:s1") == [docs]
    assert ids("--assignee", "s1") == [docs]
    assert ids("--limit", "1") == [parser]
    assert ids("--state", "todo", "--tag", "code") == [parser]


def test_old_done_and_cancelled_tasks_are_archived_not_deleted(cli: Cli) -> None:
    # The fleet's clock is years behind: its done tasks are long past the archive age.
    cli.fleet.call("project.add", name="alpha")
    done = cli.fleet.call("task.add", project="alpha", title="finished")["task"]
    cancelled = cli.fleet.call("task.add", project="alpha", title="dropped")["task"]
    todo = cli.fleet.call("task.add", project="alpha", title="open")["task"]
    cli.fleet.call("task.state", task=done, state="in_progress")
    cli.fleet.call("task.state", task=done, state="done")
    cli.fleet.call("task.state", task=cancelled, state="cancelled")

    def ids(*argv: str) -> set[str]:
        return {t["id"] for t in cli.json("task", "list", *argv)}

    assert ids() == {todo}
    assert ids("--all") == {done, cancelled, todo}
    assert ids("--state", "done") == {done}
    config_mod.save(cli.paths, config_mod.load(cli.paths).replace(archive_after_days=0))
    assert ids() == {done, cancelled, todo}


def test_a_deleted_task_leaves_the_lists_and_keeps_its_history(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    gone = cli.fleet.call("task.add", project="alpha", title="mistake")["task"]
    then = cli.fleet.call("task.add", project="alpha", title="then", depends_on=[gone])["task"]
    cli.ok("task", "delete", gone, "--reason", "added twice")
    assert [t["id"] for t in cli.json("task", "list", "--all")] == [then]
    assert cli.json("project", "show", "alpha")["tasks"] == {"todo": 1}
    assert "was deleted" in cli.error("task", "start", gone)
    assert "was deleted" in cli.error("task", "update", gone, "--title", "x")
    shown = cli.json("task", "show", gone)
    assert shown["deleted"]
    assert [e["kind"] for e in shown["history"]] == ["TaskCreated", "TaskDeleted"]
    assert cli.json("log", "--kind", "TaskDeleted")[0]["data"]["reason"] == "added twice"
    assert cli.json("task", "show", then)["waiting_on"] == [{"task": gone, "state": "deleted"}]


def test_a_renamed_project_takes_its_tasks_and_a_deleted_one_takes_them_away(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha", description="first", path="/src/alpha")
    task = cli.fleet.call("task.add", project="alpha", title="t")["task"]
    cli.ok("project", "rename", "alpha", "beta")
    assert [p["name"] for p in cli.json("project", "list")] == ["beta"]
    beta = cli.json("project", "show", "beta")
    assert (beta["description"], list(beta["paths"].values())) == ("first", ["/src/alpha"])
    assert [t["id"] for t in beta["task_list"]] == [task]
    assert "renamed to 'beta'" in cli.error("task", "add", "x", "-p", "alpha")
    assert "was deleted: choose another name" in cli.error("project", "add", "alpha")
    kinds = [e["kind"] for e in cli.json("log", "--limit", "3")]
    assert kinds == ["ProjectRenamed", "TaskMoved", "ProjectCreated"]
    cli.ok("project", "delete", "beta", "--yes")
    assert cli.json("project", "list") == []
    assert cli.json("task", "list", "--all") == []
    assert cli.json("task", "show", task)["deleted"]


def test_export_then_import_merges_without_duplicates(cli: Cli, tmp_path: Path) -> None:
    cli.fleet.call("project.add", name="alpha", description="the first")
    first = cli.fleet.call("task.add", project="alpha", title="first", tags=["x"])["task"]
    then = cli.fleet.call("task.add", project="alpha", title="then", depends_on=[first])["task"]
    cli.fleet.call("task.note", task=first, text="half way", author="ann")
    cli.fleet.call("task.state", task=first, state="done")
    exported = tmp_path / "fleet.json"
    exported.write_text(cli.ok("export", "--json"))
    assert "half way" in cli.ok("export")

    # Another fleet (its own home) takes the file in, twice.
    home = paths_mod.resolve(tmp_path / "other")
    config_mod.save(home, config_mod.Config(machine_id=PEER, name="server"))
    with pytest.MonkeyPatch.context() as patch:
        _check_the_other_fleet(Cli(home, patch, machine_id=PEER), exported, first, then)


def _check_the_other_fleet(other: Cli, exported: Path, first: str, then: str) -> None:
    added = other.json("import", str(exported))
    assert (added["projects"], added["tasks"], added["notes"]) == (1, 2, 1)
    again = other.json("import", str(exported))
    assert (again["projects"], again["tasks"], again["notes"], again["present"]) == (0, 0, 0, 2)
    shown = {t["id"]: t for t in other.json("task", "list", "--all")}
    assert shown[first]["state"] == "done"
    assert shown[then]["depends_on"] == [first]
    assert shown[then]["ready"]

    # The same tasks and notes; only the times are the import's own.
    def timeless(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {**t, "created_at": None, "notes": [{**n, "at": None} for n in t["notes"]]}
            for t in tasks
        ]

    theirs = other.json("export", "--json")["tasks"]
    assert timeless(theirs) == timeless(json.loads(exported.read_text())["tasks"])


def test_import_refuses_what_is_no_export(cli: Cli, tmp_path: Path) -> None:
    wrong = tmp_path / "x.json"
    wrong.write_text('{"hello": 1}')
    assert "not a Clare export" in cli.error("import", str(wrong))


def test_sync_peer_update_changes_the_endpoint_and_keeps_the_key(cli: Cli) -> None:
    key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    cli.ok("sync", "peer", "add", "server", "tcp://10.0.0.2:8766", "--key", key)
    cli.ok("sync", "peer", "update", "server", "--endpoint", "tcp://10.0.0.3:9000")
    (peer,) = config_mod.load(cli.paths).peers
    assert (peer.endpoint, peer.key) == ("tcp://10.0.0.3:9000", key)
    assert "no peer 'nosuch'" in cli.error("sync", "peer", "update", "nosuch", "--endpoint", "x")
    assert "nothing to change" in cli.error("sync", "peer", "update", "server")


def test_views_with_deletions_renames_and_title_races_rebuild_equal(cli: Cli) -> None:
    cli.fleet.call("project.add", name="alpha")
    task = cli.fleet.call("task.add", project="alpha", title="a")["task"]
    gone = cli.fleet.call("task.add", project="alpha", title="b")["task"]
    cli.fleet.call("task.update", task=task, title="a2")
    cli.fleet.call("task.delete", task=gone)
    cli.fleet.call("project.rename", name="alpha", new_name="beta")
    cli.fleet.call("project.add", name="gamma")
    cli.fleet.call("project.delete", name="gamma")
    assert cli.json("verify")["ok"]
