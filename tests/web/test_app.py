"""The app's error answers: a bug is a page that says so, never a bare 500."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clare.web import pagedata

if TYPE_CHECKING:
    import pytest

    from tests.web.conftest import Web


def test_a_bug_is_explained_as_a_page_and_as_json(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(pagedata, "overview", broken)
    monkeypatch.setattr(pagedata, "status", broken)
    monkeypatch.setattr(pagedata, "stored_status", broken)
    page = web.client.get("/")
    assert page.status_code == 500
    assert "ZeroDivisionError" in page.text
    assert "<html" in page.text
    api = web.client.get("/api/v1/status")
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "bug"


def test_unknown_pages_and_methods(web: Web) -> None:
    missing = web.client.get("/nowhere")
    assert missing.status_code == 404
    assert "nothing at /nowhere" in missing.text
    assert web.client.get("/actions/task.add").status_code == 405
