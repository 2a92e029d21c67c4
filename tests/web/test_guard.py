"""Who may use the page: loopback names, the token, cross-site POSTs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from clare.core.errors import ConfigError
from clare.web.guard import (
    Policy,
    RequestFacts,
    check,
    csrf_ok,
    facts_from_scope,
    host_name,
    is_loopback,
    local_path,
    policy_for,
)
from tests.web.conftest import make_web

if TYPE_CHECKING:
    from pathlib import Path

LOCAL = Policy(loopback_only=True)
TOKEN = Policy(token="t0ken")


def _get(**kw: Any) -> RequestFacts:
    return RequestFacts(**{"method": "GET", "path": "/", "host": "127.0.0.1:8765", **kw})


def _post(**kw: Any) -> RequestFacts:
    return RequestFacts(**{"method": "POST", "path": "/actions/x", "host": "127.0.0.1:8765", **kw})


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("[::1]")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    assert not is_loopback("10.0.0.2")
    assert not is_loopback("example.org")
    assert host_name("[::1]:8765") == "[::1]"
    assert host_name("localhost:1") == "localhost"
    assert host_name("127.0.0.1") == "127.0.0.1"


STRONG = "Xq3-kP9_vR2mZ7wL"


def test_policy_refuses_an_open_bind_without_a_token() -> None:
    with pytest.raises(ConfigError, match="token"):
        policy_for("0.0.0.0", "")
    assert policy_for("0.0.0.0", STRONG) == Policy(token=STRONG, loopback_only=False)
    assert policy_for("127.0.0.1", "", owner_uid=1000) == Policy(
        token="", loopback_only=True, owner_uid=1000
    )
    assert policy_for("127.0.0.1", "").owner_uid == os.getuid()


@pytest.mark.parametrize(
    "weak", [" ", "abc", "aaaaaaaaaaaaaaaaaaaa", "abababababababababab", "has a space 1234567"]
)
def test_a_guessable_or_unsendable_token_is_refused(weak: str) -> None:
    with pytest.raises(ConfigError, match="token"):
        policy_for("0.0.0.0", weak)
    with pytest.raises(ConfigError, match="token"):
        policy_for("127.0.0.1", weak)


def test_only_the_owner_uid_may_connect_on_loopback() -> None:
    owner = Policy(loopback_only=True, owner_uid=1000)
    assert check(_get(peer_uid=1000), owner) is None
    stranger = check(_get(peer_uid=1001), owner)
    assert stranger is not None
    assert stranger.status == 403
    assert "uid 1001" in stranger.reason
    unknown = check(_get(peer_uid=None), owner)
    assert unknown is not None
    assert unknown.status == 403
    # With a token, the token decides, whoever connects.
    assert check(_get(peer_uid=1001, authorization="Bearer t0ken"), TOKEN) is None


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/tasks/t-1", "/tasks/t-1"),
        ("//evil.example/", "/evil.example/"),
        ("///evil.example", "/evil.example"),
        ("/\\evil.example", "/%5Cevil.example"),
        ("/a b", "/a%20b"),
    ],
)
def test_the_token_redirect_stays_on_this_site(path: str, expected: str) -> None:
    verdict = check(_get(path=path, query="token=t0ken"), TOKEN)
    assert verdict is not None
    assert verdict.location == expected
    assert local_path(path) == expected


def test_dns_rebinding_is_refused_on_loopback() -> None:
    assert check(_get(), LOCAL) is None
    assert check(_get(host="localhost:8765"), LOCAL) is None
    verdict = check(_get(host="evil.example:8765"), LOCAL)
    assert verdict is not None
    assert verdict.status == 421


def test_the_token_by_header_cookie_or_once_in_the_address() -> None:
    assert check(_get(), TOKEN) is not None
    assert check(_get(authorization="Bearer t0ken"), TOKEN) is None
    assert check(_get(cookie_token="t0ken"), TOKEN) is None
    wrong = check(_get(authorization="Bearer nope"), TOKEN)
    assert wrong is not None
    assert wrong.status == 401
    via_query = check(_get(path="/tasks/t-1", query="token=t0ken&x=1"), TOKEN)
    assert via_query is not None
    assert via_query.status == 303
    assert via_query.location == "/tasks/t-1?x=1"
    assert via_query.set_token == "t0ken"
    # A token in the address of a POST is not accepted (it would be logged everywhere).
    assert check(_post(query="token=t0ken"), TOKEN) is not None


def test_cross_site_posts_are_refused() -> None:
    assert check(_post(fetch_site="same-origin", origin="http://127.0.0.1:8765"), LOCAL) is None
    assert check(_post(), LOCAL) is None  # no browser headers: a script (JSON/CSRF still apply)
    cross = check(_post(fetch_site="cross-site"), LOCAL)
    assert cross is not None
    assert cross.status == 403
    assert check(_post(fetch_site="same-site"), LOCAL) is not None
    other = check(_post(origin="http://evil.example"), LOCAL)
    assert other is not None
    assert other.status == 403
    assert check(_post(origin="null"), LOCAL) is not None
    assert check(_get(fetch_site="cross-site"), LOCAL) is None  # reading is fine


def test_csrf_tokens() -> None:
    assert csrf_ok("abc", "abc")
    assert not csrf_ok("abd", "abc")
    assert not csrf_ok(None, "abc")
    assert not csrf_ok("", "abc")


def test_facts_from_an_asgi_scope() -> None:
    facts = facts_from_scope(
        {
            "type": "http",
            "method": "POST",
            "path": "/x",
            "query_string": b"a=1",
            "headers": [
                (b"host", b"localhost:9"),
                (b"origin", b"http://localhost:9"),
                (b"sec-fetch-site", b"same-origin"),
                (b"cookie", b"other=1; clare_token=abc"),
            ],
        }
    )
    assert facts == RequestFacts(
        "POST", "/x", "a=1", "localhost:9", "http://localhost:9", "same-origin", "", "abc"
    )
    broken = facts_from_scope(
        {"type": "http", "method": "GET", "path": "/", "headers": [(b"cookie", b'a="\\')]}
    )
    assert broken.cookie_token == ""


def test_middleware_answers_refusals_in_kind(home: Path) -> None:
    web = make_web(home, Policy(token="t0ken"))
    with web.client:
        page = web.client.get("/")
        assert page.status_code == 401
        assert page.headers["content-type"].startswith("text/plain")
        api = web.client.get("/api/v1/status")
        assert api.json()["error"]["code"] == "refused"
        login = web.client.get("/projects?token=t0ken", follow_redirects=False)
        assert login.status_code == 303
        assert login.headers["location"] == "/projects"
        assert "HttpOnly" in login.headers["set-cookie"]
        assert "SameSite=Strict" in login.headers["set-cookie"]
        # The cookie now rides along (the test client keeps it).
        assert web.client.get("/projects").status_code == 200
        # Neither answers nor refusals may be framed by another site.
        for answer in (page, api, web.client.get("/projects"), web.client.get("/api/v1/tasks")):
            assert answer.headers["x-frame-options"] == "DENY"
            assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"
    web.writer.close()


def test_middleware_refuses_a_cross_site_form(home: Path) -> None:
    web = make_web(home, Policy(loopback_only=True))
    with web.client:
        web.client.headers["host"] = "127.0.0.1:8765"
        refused = web.client.post(
            "/actions/project.add",
            data={"name": "x", "csrf": web.ctx.csrf},
            headers={"sec-fetch-site": "cross-site"},
        )
        assert refused.status_code == 403
        rebinding = web.client.get("/", headers={"host": "evil.example"})
        assert rebinding.status_code == 421
        assert web.client.get("/api/v1/projects").json() == []
    web.writer.close()
