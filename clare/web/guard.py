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
* Bound to loopback without a token, only the user who runs Clare may connect:
  the peer's uid is read from the kernel's socket table (``peeruid``), so
  another account on the machine cannot post messages to every agent as the
  owner. The owner's own browser and scripts need nothing more.
* Every answer forbids framing (``X-Frame-Options``, CSP ``frame-ancestors``),
  so no other page can lay the board under a click.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import string
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from clare.core.errors import ConfigError
from clare.web import peeruid

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOKEN_COOKIE = "clare_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
#: A token shorter than this, or of fewer distinct characters, is refused as guessable.
MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8
#: Characters a token may use: it travels in a cookie and a query string unquoted.
TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-._~+/=")
#: Sent with every answer: no other site may frame the page (clickjacking).
FRAME_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


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
    #: Accept only connections made by this uid (loopback without a token); None: anyone.
    owner_uid: int | None = None


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
    #: The uid that opened the connection, when the policy asks and it can be told.
    peer_uid: int | None = None


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
    if policy.owner_uid is not None and facts.peer_uid != policy.owner_uid:
        who = "an unknown user" if facts.peer_uid is None else f"uid {facts.peer_uid}"
        return Verdict(
            403,
            f"this Clare serves only the account that runs it (uid {policy.owner_uid}), "
            f"not {who}: connect as that user, or give the web page a token",
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
                location = local_path(facts.path) + (f"?{rest}" if rest else "")
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


def local_path(path: str) -> str:
    """``path`` as an address on this site only, safe to put in ``Location``.

    ``//evil.example/`` (or ``/\\evil.example``) is a path to the server but an
    address of another site to a browser: leading slashes collapse to one, and
    everything outside a path's own characters is percent-encoded.
    """
    return "/" + quote(path, safe="/:@!$&'()*+,;=-._~").lstrip("/")


def csrf_ok(given: str | None, expected: str) -> bool:
    """Whether a form's CSRF field matches the token this server put in its forms."""
    return bool(given) and _same(str(given), expected)


def facts_from_scope(scope: Scope, *, want_uid: bool = False) -> RequestFacts:
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
        peer_uid=_peer_uid(scope) if want_uid else None,
    )


def _peer_uid(scope: Scope) -> int | None:
    client, server = scope.get("client"), scope.get("server")
    if not client or not server:
        return None  # a Unix socket, or a test transport: nothing to tell by
    return peeruid.peer_uid((str(client[0]), int(client[1])), (str(server[0]), int(server[1])))


class GuardMiddleware:
    """ASGI middleware applying ``check`` to every HTTP request."""

    def __init__(self, app: ASGIApp, policy: Policy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        facts = facts_from_scope(scope, want_uid=self.policy.owner_uid is not None)
        verdict = check(facts, self.policy)
        if verdict is None:

            async def send_unframable(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", ()), *FRAME_HEADERS]}
                await send(message)

            await self.app(scope, receive, send_unframable)
            return
        headers: list[tuple[bytes, bytes]] = list(FRAME_HEADERS)
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


def check_token(token: str) -> None:
    """Refuse a token that is easy to guess or cannot travel in a cookie."""
    if not token:
        return
    if set(token) - TOKEN_ALPHABET:
        raise ConfigError(
            "the web token may use only letters, digits and - . _ ~ + / = "
            "(no spaces or quotes); make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
        )
    if len(token) < MIN_TOKEN_CHARS or len(set(token)) < MIN_TOKEN_DISTINCT:
        raise ConfigError(
            f"the web token is too easy to guess: use at least {MIN_TOKEN_CHARS} characters, "
            f"{MIN_TOKEN_DISTINCT} of them different; make one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(24))'`"
        )


def policy_for(bind_host: str, token: str, *, owner_uid: int | None = None) -> Policy:
    """The policy for a server bound to ``bind_host``; refuses an unsafe one.

    Off loopback a token is required. On loopback without one, only
    ``owner_uid`` (by default the uid running this process) may connect; a
    platform that cannot tell who connects needs a token there too.
    """
    check_token(token)
    loopback = is_loopback(bind_host)
    if not loopback and not token:
        raise ConfigError(
            f"the web page would be open to the network on {bind_host}: give it a token "
            "(`clare serve --token T`, or [web] token in clare.toml), or bind 127.0.0.1"
        )
    if token:
        return Policy(token=token)
    if not peeruid.SUPPORTED:
        raise ConfigError(
            "this system cannot tell which local user connects to the web page: give it a "
            "token (`clare serve --token T`, or [web] token in clare.toml)"
        )
    return Policy(loopback_only=True, owner_uid=os.getuid() if owner_uid is None else owner_uid)
