from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from clare.sessions.git_head import HeadWatch, find_head, parse_head

if TYPE_CHECKING:
    from pathlib import Path


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "feature/login")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty",
        "-m", "one")  # fmt: skip
    return root


def test_the_branch_follows_checkouts(repo: Path) -> None:
    (repo / "src" / "deep").mkdir(parents=True)
    watch = HeadWatch(str(repo / "src" / "deep"))
    assert watch.branch() == "feature/login"
    git(repo, "checkout", "-q", "-b", "feature/logon")  # same length: a new inode tells
    assert watch.branch() == "feature/logon"
    git(repo, "checkout", "-q", "--detach")
    assert watch.branch() == "HEAD"


def test_a_linked_worktree_has_its_own_head(repo: Path, tmp_path: Path) -> None:
    git(repo, "worktree", "add", "-q", "-b", "side", str(tmp_path / "wt"))
    assert HeadWatch(str(tmp_path / "wt")).branch() == "side"
    assert HeadWatch(str(repo)).branch() == "feature/login"


def test_outside_a_repository_there_is_no_branch(tmp_path: Path) -> None:
    assert find_head(str(tmp_path)) is None
    assert HeadWatch(str(tmp_path)).branch() == ""
    assert HeadWatch("").branch() == ""


def test_a_head_that_vanishes_reads_as_no_branch(repo: Path) -> None:
    watch = HeadWatch(str(repo))
    assert watch.branch() == "feature/login"
    os.rename(repo / ".git" / "HEAD", repo / ".git" / "HEAD.gone")
    assert watch.branch() == ""


@pytest.mark.parametrize(
    ("text", "branch"),
    [
        ("ref: refs/heads/main\n", "main"),
        ("ref: refs/remotes/origin/x\n", "refs/remotes/origin/x"),
        ("0123456789abcdef0123456789abcdef01234567\n", "HEAD"),
        ("garbage", ""),
        ("", ""),
    ],
)
def test_parse_head(text: str, branch: str) -> None:
    assert parse_head(text) == branch
