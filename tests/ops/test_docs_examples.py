"""The commands the README and docs show must work when pasted into a shell."""

from __future__ import annotations

import re
from pathlib import Path

from clare.core.errors import ClareError

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_shown_key_is_quoted() -> None:
    # A Z85 key holds characters a shell reads as syntax ($ ( ) < > #): unquoted,
    # the pasted command runs something else, or nothing.
    unquoted = [
        f"{page.name}: {line.strip()}"
        for page in PAGES
        for line in page.read_text().splitlines()
        # A metavar (KEY, TEXT) is a name to replace, not a value to paste.
        if re.search(r"--key (?![A-Z]+\b)[^\s'\"]", line)
    ]
    assert unquoted == []


def test_the_web_api_page_names_every_error_code() -> None:
    page = (ROOT / "docs" / "web-api.md").read_text()

    def codes(cls: type[ClareError]) -> set[str]:
        # The tree of clare.core.errors: what a web request can meet (node-internal
        # errors, such as a held lock, never reach it).
        own = {cls.code} if cls.__module__ == "clare.core.errors" else set()
        return own.union(*(codes(sub) for sub in cls.__subclasses__()))

    missing = sorted(c for c in codes(ClareError) - {"error"} if f"`{c}`" not in page)
    assert missing == []
