from __future__ import annotations

from clare.domain.work import (
    MAX_COMMITS,
    MAX_FILES,
    FileChange,
    WorkRecord,
    parse_commit_line,
    parse_count,
    parse_file_line,
    parse_log,
    parse_numstat,
    parse_porcelain,
    pick_base,
)

H1 = "a" * 40
H2 = "0123456789abcdef0123456789abcdef01234567"


def test_log_lines_become_hash_and_subject() -> None:
    text = f"{H1}\x1fAdd the login form\n{H2}\x1f  Fix   a\ttypo \n"
    assert parse_log(text) == ((H1, "Add the login form"), (H2, "Fix a typo"))


def test_log_skips_lines_that_are_not_commits_and_is_bounded() -> None:
    assert parse_log("warning: something\nnothex\x1fsubject\n") == ()
    many = "".join(f"{i:040x}\x1fcommit {i}\n" for i in range(MAX_COMMITS + 5))
    assert len(parse_log(many)) == MAX_COMMITS


def test_numstat_keeps_counts_and_binary_files() -> None:
    text = "3\t1\tsrc/login.py\n-\t-\tlogo.png\n10\t0\tdocs/a b.md\n"
    assert parse_numstat(text) == (
        FileChange("src/login.py", 3, 1),
        FileChange("logo.png", None, None),
        FileChange("docs/a b.md", 10, 0),
    )
    assert parse_numstat("garbage\nx\ty\tz\n") == ()
    many = "".join(f"1\t1\tf{i}\n" for i in range(MAX_FILES + 1))
    assert len(parse_numstat(many)) == MAX_FILES


def test_a_record_round_trips_through_its_lines() -> None:
    record = WorkRecord(
        cwd="/w",
        branch="feature/login",
        base="origin/main",
        commits=((H1, "Add login"),),
        commits_total=1,
        files=(FileChange("a.py", 2, 0), FileChange("b.bin", None, None)),
        files_total=2,
    )
    args = record.to_args()
    assert args["commits"] == [f"{H1} Add login"]
    assert [parse_commit_line(c) for c in args["commits"]] == [(H1, "Add login")]
    assert [parse_file_line(f) for f in args["files"]] == list(record.files)


def test_porcelain_count_and_base() -> None:
    assert parse_porcelain(" M a.py\n?? new.txt\n\n") == (" M a.py", "?? new.txt")
    assert parse_count("7\n") == 7
    assert parse_count("fatal\n") == 0
    assert pick_base("feature", ["origin/main", "main"]) == "origin/main"
    assert pick_base("main", ["main", "master"]) == "master"
    assert pick_base("main", ["origin/main", "main"]) == "origin/main"
    assert pick_base("main", ["main"]) == ""
