"""The casework web app: ward inbox, child pages, workflow forms, admin and audit pages, the JSON API.

    python -m services.casework.entrypoints.web      # port TSUNAGU_CASEWORK_WEB_PORT (8000), /metrics too
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.entrypoints import (
    web_account,
    web_admin,
    web_api,
    web_held,
    web_live,
    web_pages,
    web_privacy,
    web_reports,
    web_rules,
    web_survey,
)
from services.casework.entrypoints.web_common import HERE, templates
from services.casework.entrypoints.web_security import BodyLimit, CsrfFailed, LoginRequired, SecurityHeaders

log = logging.getLogger("tsunagu.casework.web")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.endswith(".csv")


def create_app(container: Container) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broadcaster = web_live.AlertBroadcaster(container)
        app.state.broadcaster = broadcaster
        await broadcaster.start()
        yield
        await broadcaster.stop()

    app = FastAPI(title="Tsunagu casework", version="1.0",
                  description="Ward alert inbox, screening workflow, clerical review, users and audit trail. "
                              "Log in with POST /api/session; send X-CSRF-Token on every state change.",
                  lifespan=lifespan, docs_url=None, redoc_url=None)  # Swagger UI would load from a CDN
    app.state.container = container
    app.add_middleware(SecurityHeaders, hsts=container.settings.secure_cookies)
    app.add_middleware(BodyLimit, limit=container.settings.max_body_bytes)  # outermost: nothing reads it first
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for module in (web_api, web_live, web_pages, web_admin, web_account, web_privacy, web_survey, web_reports,
                   web_held, web_rules):
        app.include_router(module.router)

    @app.middleware("http")
    async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        group = getattr(route, "path", "unmatched")
        if request.url.path.startswith("/static/"):
            group = "/static"
        container.metrics.http_requests.labels(route=group, status=f"{response.status_code // 100}xx").inc()
        if group != "/api/alerts/stream":
            container.metrics.http_duration.labels(route=group).observe(time.perf_counter() - started)
        return response

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "ログインしてください"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, _exc: CsrfFailed) -> Response:
        container.metrics.access_denied.labels(reason="csrf").inc()
        return _error(request, 403, "不正なリクエストです（CSRFトークンが一致しません）。画面を再読み込みしてください")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        if _is_api(request):
            return JSONResponse({"detail": "入力内容が正しくありません", "fields": fields}, status_code=422)
        return _error(request, 422, "入力内容が正しくありません")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs(request: Request) -> Response:
        # Swagger UI would load scripts from a CDN; on a closed network the API is listed server-side.
        operations = [
            {"method": method.upper(), "path": path, "summary": op.get("summary", ""),
             "tag": (op.get("tags") or [""])[0]}
            for path, ops in app.openapi()["paths"].items() for method, op in ops.items()
        ]
        return templates.TemplateResponse(request, "api_docs.html", {
            "request": request, "me": None, "csrf_token": "", "operations": operations,
            "description": app.description})

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request) or request.method != "GET":
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
    auth = getattr(request.state, "auth", None)
    return templates.TemplateResponse(request, "error.html", {
        "request": request, "me": auth.principal if auth else None, "status": status, "message": message,
        "csrf_token": auth.csrf_token if auth else ""}, status_code=status)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = CaseworkSettings()
    container = bootstrap(settings)
    uvicorn.run(create_app(container), host=settings.web_host, port=settings.web_port, log_level="info",
                access_log=False, proxy_headers=False)


if __name__ == "__main__":
    main()
