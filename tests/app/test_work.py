from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

from clare.app.work import read_work

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


def make_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "README").write_text("hello\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "Start")
    return path


def test_a_branch_is_measured_from_main(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "-b", "feature/login")
    (repo / "login.py").write_text("a\nb\n")
    git(repo, "add", "login.py")
    git(repo, "commit", "-q", "-m", "Add the login form")
    (repo / "README").write_text("changed\n")  # left uncommitted
    work = read_work(str(repo), gh=False)
    assert work.problem == ""
    assert (work.branch, work.base) == ("feature/login", "main")
    assert [subject for _, subject in work.commits] == ["Add the login form"]
    assert work.commits_total == 1
    assert [(f.path, f.added, f.deleted) for f in work.files] == [("login.py", 2, 0)]
    assert work.uncommitted == (" M README",)


def test_work_on_main_without_a_remote_has_no_base(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    work = read_work(str(repo), gh=False)
    assert work.branch == "main"
    assert work.commits == ()
    assert "no base" in work.problem


def test_a_folder_that_is_no_repository_or_a_git_that_fails(tmp_path: Path) -> None:
    assert "not a git repository" in read_work(str(tmp_path), gh=False).problem
    hung = read_work(str(tmp_path), runner=lambda argv, cwd, timeout_s: None)
    assert hung.problem
    assert hung.branch == ""


def test_a_pull_request_link_comes_from_gh_when_it_knows_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path / "repo")
    tools = tmp_path / "bin"
    tools.mkdir()
    # A stand-in for gh: no network, it answers as `gh pr view --json url -q .url` does.
    gh = tools / "gh"
    gh.write_text("#!/bin/sh\necho https://example.com/acme/repo/pull/7\n")
    gh.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    assert read_work(str(repo)).pr_url == "https://example.com/acme/repo/pull/7"
    gh.write_text("#!/bin/sh\necho 'no pull requests found' >&2\nexit 1\n")
    assert read_work(str(repo)).pr_url == ""
    assert read_work(str(repo), gh=False).pr_url == ""
