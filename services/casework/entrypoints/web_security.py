"""Sessions, CSRF and security headers for the web app."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Request, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.casework.bootstrap import Container
from services.casework.config import CaseworkSettings
from services.casework.domain.access import Principal
from services.casework.service_layer.auth import SessionTimeouts, resume_session

SESSION_COOKIE = "tsunagu_session"
HOST_SESSION_COOKIE = "__Host-tsunagu_session"
PRE_LOGIN_COOKIE = "tsunagu_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class LoginRequired(Exception):
    """No valid session: pages redirect to /login, the API answers 401."""


class CsrfFailed(Exception):
    """A state-changing request without the session's CSRF token."""


@dataclass(frozen=True)
class Authenticated:
    principal: Principal
    csrf_token: str
    client: str | None


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


def session_cookie_name(settings: CaseworkSettings) -> str:
    """``__Host-`` with Secure cookies: the browser then refuses it from plain HTTP, other paths or a Domain."""
    return HOST_SESSION_COOKIE if settings.secure_cookies else SESSION_COOKIE


def session_token(request: Request) -> str:
    container: Container = request.app.state.container
    return request.cookies.get(session_cookie_name(container.settings), "")


def recheck_session(container: Container, token: str) -> Principal | None:
    """Is the session still valid (not logged out, user active, within both timeouts)? Not counted as use."""
    s = container.settings
    timeouts = SessionTimeouts(idle=_seconds(s.session_idle_timeout_s), absolute=_seconds(s.session_absolute_timeout_s))
    with container.sessions.begin() as session:
        resumed = resume_session(session, token, container.clock(), timeouts, s.session_secret, touch=False)
    return resumed[0] if resumed else None


def authenticate_request(request: Request) -> Authenticated:
    container: Container = request.app.state.container
    token = session_token(request)
    if not token:
        raise LoginRequired()
    s = container.settings
    timeouts = SessionTimeouts(idle=_seconds(s.session_idle_timeout_s), absolute=_seconds(s.session_absolute_timeout_s))
    with container.sessions.begin() as session:
        resumed = resume_session(session, token, container.clock(), timeouts, s.session_secret)
    if resumed is None:
        raise LoginRequired()
    principal, csrf = resumed
    auth = Authenticated(principal=principal, csrf_token=csrf, client=client_of(request))
    request.state.auth = auth
    return auth


async def check_csrf(request: Request, auth: Authenticated) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), auth.csrf_token.encode()):
        raise CsrfFailed()


def set_session_cookie(response: Response, token: str, settings: CaseworkSettings) -> None:
    response.set_cookie(session_cookie_name(settings), token, httponly=True, secure=settings.secure_cookies,
                        samesite="strict", path="/", max_age=settings.session_absolute_timeout_s)


def clear_session_cookie(response: Response, settings: CaseworkSettings) -> None:
    response.delete_cookie(session_cookie_name(settings), path="/", secure=settings.secure_cookies,
                           httponly=True, samesite="strict")


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413 before anything parses them (declared or streamed)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        seen, refused = 0, False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # answer now; the app sees the client gone and its answer is dropped
                    refused = True
                    await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded_send)


async def _too_large(send: Send) -> None:
    body = b'{"detail":"request body too large"}'
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class SecurityHeaders:
    """Pure ASGI middleware (it must not buffer the live SSE stream). HSTS when served over TLS (production)."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(HEADERS)
                if self.hsts:
                    headers.append(HSTS)
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
