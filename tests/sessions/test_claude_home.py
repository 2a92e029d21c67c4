from __future__ import annotations

from pathlib import Path

from clare.sessions.claude_home import (
    claude_dir,
    project_folder_name,
    projects_dir,
    session_file_path,
    sessions_dir,
    transcript_path,
)

FIXTURE_CLAUDE = Path(__file__).parent.parent / "fixtures" / "claude-code-2.1.328" / ".claude"


def test_claude_dir_defaults_to_dot_claude_in_home() -> None:
    assert claude_dir({}, home=Path("/home/dev")) == Path("/home/dev/.claude")


def test_claude_config_dir_moves_it() -> None:
    env = {"CLAUDE_CONFIG_DIR": "/srv/claude-conf"}
    assert claude_dir(env, home=Path("/home/dev")) == Path("/srv/claude-conf")


def test_empty_claude_config_dir_is_ignored() -> None:
    assert claude_dir({"CLAUDE_CONFIG_DIR": ""}, home=Path("/h")) == Path("/h/.claude")


def test_subfolders() -> None:
    root = Path("/h/.claude")
    assert sessions_dir(root) == Path("/h/.claude/sessions")
    assert projects_dir(root) == Path("/h/.claude/projects")
    assert session_file_path(root, 11246) == Path("/h/.claude/sessions/11246.json")


def test_folder_name_replaces_everything_but_ascii_letters_and_digits() -> None:
    assert project_folder_name("/home/dev/work/alpha_svc") == "-home-dev-work-alpha-svc"
    assert project_folder_name("/home/dev/work/beta web") == "-home-dev-work-beta-web"
    assert project_folder_name("/a.b/C9~x") == "-a-b-C9-x"


def test_folder_name_counts_utf16_units_like_javascript() -> None:
    assert project_folder_name("/é") == "--"
    # One emoji is a surrogate pair: two units, two dashes.
    assert project_folder_name("/\U0001f389") == "---"


def test_long_folder_names_are_cut_and_hashed() -> None:
    a = project_folder_name("/x" * 150 + "/a")
    b = project_folder_name("/x" * 150 + "/b")
    assert a != b
    assert a.startswith("-x" * 100 + "-")
    assert len(a) > 200
    assert a[201:].isalnum()
    assert project_folder_name("/y" * 100) == "-y" * 100  # exactly 200: kept whole


def test_transcript_paths_of_the_fixture_sessions_exist() -> None:
    alpha = transcript_path(
        FIXTURE_CLAUDE, "/home/dev/work/alpha_svc", "7789500f-a99f-4ab5-b280-39aa6ae74086"
    )
    beta = transcript_path(
        FIXTURE_CLAUDE, "/home/dev/work/beta web", "52b61c74-344e-4a0f-9ec7-770bc6a2e17e"
    )
    assert alpha.is_file()
    assert beta.is_file()
