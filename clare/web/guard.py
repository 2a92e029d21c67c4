"""Who may talk to the web node: loopback names, the token, and cross-site POSTs.

The rules, decided by a pure function over the request's headers:

* Bound to loopback without a token, only the loopback host names are
  accepted in ``Host``: a page on another site whose name resolves to
  127.0.0.1 (DNS rebinding) is refused, so it cannot read the page or post.
* With a token (required to bind anywhere else), every request carries it:
  ``Authorization: Bearer T``, the ``clare_token`` cookie, or once ``?token=T``
  on a page address, which sets the cookie and redirects to the bare address.
* A request that changes something (any method but GET/HEAD/OPTIONS) coming
  from a browser must come from this site: ``Sec-Fetch-Site`` must be
  same-origin (or none, typed by the person) and ``Origin``, when sent, must
  name this host. Forms also carry a CSRF token (checked by the form handler,
  ``csrf_ok``) and JSON posts must say ``application/json``, which no
  cross-site form can send without the browser asking first.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN_COOKIE = "clare_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """The name part of a ``Host`` header (``[::1]:8765`` -> ``[::1]``)."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if ":" in host_header else host_header


@dataclass(frozen=True)
class Policy:
    token: str = ""
    #: Accept only loopback names in ``Host`` (when bound to loopback without a token).
    loopback_only: bool = False


@dataclass(frozen=True)
class RequestFacts:
    method: str
    path: str
    query: str = ""
    host: str = ""
    origin: str | None = None
    fetch_site: str | None = None
    authorization: str = ""
    cookie_token: str = ""


@dataclass(frozen=True)
class Verdict:
    """A refusal (status and why), or a redirect that stores the token in a cookie."""

    status: int
    reason: str
    location: str = ""
    set_token: str = ""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def check(facts: RequestFacts, policy: Policy) -> Verdict | None:
    """None if the request may go on; else what to answer instead."""
    host = facts.host.lower()
    if policy.loopback_only and host_name(host) not in LOOPBACK_NAMES:
        return Verdict(
            421, f"this server answers to {', '.join(LOOPBACK_NAMES)} only, not {host!r}"
        )
    if policy.token:
        bearer = facts.authorization.removeprefix("Bearer ").strip()
        if not (
            (bearer and _same(bearer, policy.token))
            or (facts.cookie_token and _same(facts.cookie_token, policy.token))
        ):
            params = parse_qsl(facts.query, keep_blank_values=True)
            given = dict(params).get("token", "")
            if given and _same(given, policy.token) and facts.method in SAFE_METHODS:
                rest = urlencode([(k, v) for k, v in params if k != "token"])
                location = facts.path + (f"?{rest}" if rest else "")
                return Verdict(303, "token accepted", location=location, set_token=given)
            return Verdict(
                401,
                "this Clare needs its access token: open the page once as "
                "/?token=TOKEN, or send `Authorization: Bearer TOKEN`",
            )
    if facts.method not in SAFE_METHODS:
        if facts.fetch_site not in (None, "same-origin", "none"):
            return Verdict(403, f"cross-site request refused (Sec-Fetch-Site: {facts.fetch_site})")
        if facts.origin is not None:
            origin_host = urlsplit(facts.origin).netloc.lower()
            if not origin_host or origin_host != host:
                return Verdict(403, f"cross-site request refused (Origin: {facts.origin})")
    return None


def csrf_ok(given: str | None, expected: str) -> bool:
    """Whether a form's CSRF field matches the token this server put in its forms."""
    return bool(given) and _same(str(given), expected)


def facts_from_scope(scope: Scope) -> RequestFacts:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    cookie = SimpleCookie()
    try:
        cookie.load(headers.get("cookie", ""))
    except Exception:  # a malformed Cookie header is the client's problem: ignore it
        cookie = SimpleCookie()
    morsel = cookie.get(TOKEN_COOKIE)
    return RequestFacts(
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        host=headers.get("host", ""),
        origin=headers.get("origin"),
        fetch_site=headers.get("sec-fetch-site"),
        authorization=headers.get("authorization", ""),
        cookie_token=morsel.value if morsel is not None else "",
    )


class GuardMiddleware:
    """ASGI middleware applying ``check`` to every HTTP request."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        verdict = check(facts_from_scope(scope), self.policy)
        if verdict is None:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = []
        if verdict.location:
            cookie = (
                f"{TOKEN_COOKIE}={verdict.set_token}; Path=/; HttpOnly; SameSite=Strict"
            ).encode("latin-1")
            headers += [(b"location", verdict.location.encode()), (b"set-cookie", cookie)]
        if scope["path"].startswith("/api/"):
            body = json.dumps({"error": {"code": "refused", "message": verdict.reason}}).encode()
            headers.append((b"content-type", b"application/json"))
        else:
            body = verdict.reason.encode()
            headers.append((b"content-type", b"text/plain; charset=utf-8"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": verdict.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def policy_for(bind_host: str, token: str) -> Policy:
    """The policy for a server bound to ``bind_host``; refuses an open bind without a token."""
    from clare.errors import ConfigError

    if not is_loopback(bind_host) and not token:
        raise ConfigError(
            f"the web page would be open to the network on {bind_host}: give it a token "
            "(`clare serve --token T`, or [web] token in clare.toml), or bind 127.0.0.1"
        )
    return Policy(token=token, loopback_only=is_loopback(bind_host) and not token)
