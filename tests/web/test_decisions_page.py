"""Needs you: prompts from every host on a page, answered with a button or the JSON API."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from clare.domain.decisions import DecisionAsked
from tests.web.conftest import MACHINE, PEER

if TYPE_CHECKING:
    from tests.web.conftest import Web


def ask_on_peer(web: Web, decision: str, summary: str, at: int = 1_800_000_000_000) -> None:
    """A prompt opened on the peer host, as sync hands its ask to this host's writer."""
    body = DecisionAsked(
        decision=decision, session="sess-peer-1", host=PEER, tool="Bash", summary=summary,
        asked_at=at, cwd="/src/alpha",
    ).to_body()  # fmt: skip
    web.writer.ingest("DecisionAsked", body)


def flash(response: object) -> dict[str, list[str]]:
    return parse_qs(urlsplit(response.headers["location"]).query)  # type: ignore[attr-defined]


def test_the_navigation_counts_what_waits_and_the_page_shows_it(web: Web) -> None:
    empty = web.client.get("/")
    assert 'Needs you <span class="count">0</span>' in empty.text
    ask_on_peer(web, "d-00000000a1", "make deploy <prod>")
    page = web.client.get("/decisions")
    assert page.status_code == 200
    assert 'Needs you <span class="count">1</span>' in page.text
    assert 'data-pending="d-00000000a1"' in page.text  # what live.js notifies about
    assert "make deploy &lt;prod&gt;" in page.text  # shown, never run
    assert 'action="/actions/decision.allow"' in page.text
    assert 'action="/actions/decision.deny"' in page.text
    listed = web.client.get("/api/v1/decisions").json()
    assert [(d["id"], d["summary"]) for d in listed] == [("d-00000000a1", "make deploy <prod>")]


def test_allow_and_deny_from_the_page_are_recorded_as_made_on_the_web(web: Web) -> None:
    ask_on_peer(web, "d-00000000a1", "make deploy")
    ask_on_peer(web, "d-00000000b2", "rm -rf build", at=1_800_000_001_000)
    allowed = web.form(
        "/actions/decision.allow", {"decision": "d-00000000a1", "next": "/decisions"}
    )
    assert allowed.status_code == 303
    assert flash(allowed)["ok"] == ["d-00000000a1 allowed"]
    denied = web.form(
        "/actions/decision.deny", {"decision": "d-0000000", "reason": "not now", "next": "/"}
    )
    assert "matches 2" in flash(denied)["error"][0]  # a prefix of both is refused
    denied = web.form("/actions/decision.deny", {"decision": "d-00000000b2", "reason": "not now"})
    assert flash(denied)["ok"] == ["d-00000000b2 denied"]
    shown = web.client.get("/api/v1/decisions/d-00000000b2").json()
    assert shown["state"] == "denied"
    assert (shown["answer"]["via"], shown["answer"]["reason"]) == ("web", "not now")
    assert shown["answer"]["host_id"] == MACHINE
    again = web.form("/actions/decision.allow", {"decision": "d-00000000b2"})
    assert "no longer pending" in flash(again)["error"][0]
    page = web.client.get("/decisions")
    assert 'Needs you <span class="count">0</span>' in page.text
    assert "Answered lately" in page.text


def test_a_form_without_its_csrf_token_is_refused(web: Web) -> None:
    ask_on_peer(web, "d-00000000a1", "make deploy")
    refused = web.client.post(
        "/actions/decision.allow",
        data={"decision": "d-00000000a1"},
        headers={"sec-fetch-site": "same-origin", "origin": "http://testserver"},
        follow_redirects=False,
    )
    assert "expired" in flash(refused)["error"][0]
    assert web.client.get("/api/v1/decisions/d-00000000a1").json()["pending"]


def test_the_json_api_answers_by_prefix(web: Web) -> None:
    ask_on_peer(web, "d-00000000a1", "make deploy")
    denied = web.client.post(
        "/api/v1/decisions/d-0000/deny", json={"reason": "use staging"},
        headers={"sec-fetch-site": "same-origin"},
    )  # fmt: skip
    assert denied.status_code == 200, denied.text
    assert denied.json()["behavior"] == "deny"
    shown = web.client.get("/api/v1/decisions/d-00000000a1").json()
    assert shown["answer"]["reason"] == "use staging"
    missing = web.client.post("/api/v1/decisions/d-ffff/allow", json={})
    assert missing.status_code == 404
