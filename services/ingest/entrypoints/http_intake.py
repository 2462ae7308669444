"""HTTP intake for source systems that cannot speak Kafka.

    POST /v1/sources/{system}/events        Authorization: Bearer <that system's token>
         body: one CloudEvents JSON event (application/json or application/cloudevents+json)
    → 202 {"id", "topic"}  once the broker has the event on source.<system>.v1; the worker then
      processes it like any Kafka-published event. 4xx with {"error_class", "reason"} otherwise.
    GET  /v1/sources/{system}/deadletters   the same token: that system's own dead letters, without content
    GET  /docs, /openapi.json               this API, served from this process only

    python -m services.ingest.entrypoints.http_intake
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated

import uvicorn
from fastapi import Depends, FastAPI, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.concurrency import run_in_threadpool

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import ingest_deadletter
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.deadletter_reader import DeadLetterSource, PublishedDeadLetters, own_dead_letters
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.bootstrap import bootstrap
from services.ingest.config import DEV_TOKEN_PREFIX, IngestSettings
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.intake import decode_event
from services.ingest.domain.records import record_key, record_payload
from services.ingest.entrypoints import http_docs
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import DUPLICATE_REASON, ORIGINAL_BYTES_HEADER, content_digest
from services.ingest.service_layer.ports import NOT_SEEN, DedupStore, Publisher

log = logging.getLogger("tsunagu.ingest.http")

JSON_TYPES = ("application/json", "application/cloudevents+json")
_STATUS = {  # a malformed request is 400; a well-formed one that breaks the contract is 422
    "not_json": 400, "invalid_encoding": 400, "too_large": 413, "unknown_system": 404,
    "invalid_envelope": 422, "unknown_type": 422, "invalid_data": 422, "invalid_value": 422,
    "duplicate_id_different_content": 409,
}
PUBLISH_TIMEOUT_S = 10.0
HTTP_SERVICE = "ingest-http"  # tsunagu.dlq.service of the intake's own dead letters
_BEARER = HTTPBearer(auto_error=False, description="your system's token (development: dev-<system>)")
Caller = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


def _error(status: int, error_class: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_class": error_class, "reason": reason}, status_code=status, headers=headers)


def resolve_tokens(settings: IngestSettings) -> dict[str, list[str]]:
    """Tokens per system (comma-separated for rotation); in development, dev-<system> where none is set."""
    configured = settings.tokens()
    tokens: dict[str, list[str]] = {}
    for system in SOURCE_SYSTEMS:
        raw = configured.get(system)
        if raw is None and settings.environment == "development":
            raw = f"{DEV_TOKEN_PREFIX}{system}"
        tokens[system] = [t.strip() for t in (raw or "").split(",") if t.strip()]
    return tokens


def create_app(settings: IngestSettings, publisher: Publisher, registry: CollectorRegistry | None = None,
               ids: DedupStore | None = None, dead_letters: DeadLetterSource | None = None) -> FastAPI:
    """``ids``: event ids this intake accepted, with content digests (409 for a re-used id); ``dead_letters``:
    where GET .../deadletters reads (defaults for tests: in memory, and what ``publisher`` holds)."""
    registry = registry or CollectorRegistry()
    metrics = IngestMetrics(registry)
    requests_total = Counter("tsunagu_ingest_http_requests_total", "HTTP intake requests, by status code",
                             ["code"], registry=registry)
    ids = ids if ids is not None else MemoryDedupStore()
    if dead_letters is None:
        dead_letters = PublishedDeadLetters(publisher.sent if isinstance(publisher, MemoryPublisher) else [])
    tokens = resolve_tokens(settings)
    limit = settings.max_event_bytes
    app = FastAPI(title="Tsunagu ingest HTTP intake", version="1", description=http_docs.DESCRIPTION,
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")

    def dead_letter(system: str, error_class: str, reason: str, event_id: str | None, body: bytes | None,
                    size: int | None = None) -> None:
        """An authenticated refusal goes to the dead-letter topic too, as the worker's refusals do."""
        headers = [("tsunagu.intake", b"http")]
        if body is None and size is not None:
            headers.append((ORIGINAL_BYTES_HEADER, str(size).encode()))
        headers += DeadLetterHeaders(reason=reason, error_class=error_class, topic=SOURCE_SYSTEMS[system].topic,
                                     partition=-1, offset=-1, event_id=event_id, system=system,
                                     service=HTTP_SERVICE).to_kafka()
        try:
            publisher.publish(ingest_deadletter.TOPIC.name, None, body, headers)
        except Exception as exc:  # the caller still gets its answer; operators see the counter
            log.error("http intake: dead letter not published: %s", type(exc).__name__)
            metrics.deadletter_publish_failures.inc()

    def refuse(status: int, error_class: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
        requests_total.labels(code=str(status)).inc()
        metrics.refused(error_class, "http")
        return _error(status, error_class, reason, headers)

    def authorised_system(credentials: HTTPAuthorizationCredentials | None) -> str | None:
        presented = credentials.credentials.strip() if credentials else ""
        if not presented:
            return None
        if settings.environment != "development" and presented.startswith(DEV_TOKEN_PREFIX):
            return None  # development tokens are refused outside development, whatever is configured
        for system, valid in tokens.items():
            if any(hmac.compare_digest(presented.encode(), t.encode()) for t in valid):
                return system
        return None

    def check_caller(system: str, credentials: HTTPAuthorizationCredentials | None) -> JSONResponse | None:
        if system not in SOURCE_SYSTEMS:
            return refuse(404, "unknown_system", "no such source system")
        holder = authorised_system(credentials)
        if holder is None:
            return refuse(401, "unauthorised", "missing or unknown bearer token",
                          {"WWW-Authenticate": 'Bearer realm="tsunagu-ingest"'})
        if holder != system:
            return refuse(403, "forbidden", "this token may not publish for this system")
        return None

    @app.post("/v1/sources/{system}/events", status_code=202, responses=http_docs.POST_RESPONSES,
              openapi_extra=http_docs.EVENT_BODY, summary="Publish one event of this system")
    async def post_event(system: str, request: Request,
                         credentials: Caller) -> Response:
        refused = check_caller(system, credentials)
        if refused is not None:
            return refused
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            dead_letter(system, "unsupported_media_type", "content type is not JSON", None, None)
            return refuse(415, "unsupported_media_type", f"content type must be one of {', '.join(JSON_TYPES)}")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            reason = f"body is {declared} bytes; the limit is {limit}"
            dead_letter(system, "too_large", reason, None, None, int(declared))
            return refuse(413, "too_large", reason)
        body = bytearray()
        async for chunk in request.stream():  # counted as it arrives: a missing Content-Length is no way round
            body.extend(chunk)
            if len(body) > limit:
                reason = f"body exceeds the limit of {limit} bytes"
                dead_letter(system, "too_large", reason, None, None, len(body))
                return refuse(413, "too_large", reason)
        source = SOURCE_SYSTEMS[system]
        event_id: str | None = None
        try:
            envelope = decode_event(source, bytes(body), limit)
            event_id = envelope.id
            key = record_key(record_payload(system, envelope))
            digest, id_key = content_digest(envelope), (system, envelope.id)
            known = ids.lookup(id_key)
            if known is not NOT_SEEN and known is not None and known != digest:
                raise IngestRejected("duplicate_id_different_content", DUPLICATE_REASON, envelope.id)
        except IngestRejected as exc:
            dead_letter(system, exc.error_class, exc.reason, event_id or exc.event_id, bytes(body))
            return refuse(_STATUS.get(exc.error_class, 422), exc.error_class, exc.reason)
        # The original bytes go to the source topic; the worker validates them again and is the only
        # writer of ingest.records.v1, so all three ways in share one path and one dedup.
        try:
            await run_in_threadpool(_publish_and_wait, publisher, source.topic, key.encode(), bytes(body))
        except Exception as exc:
            log.error("http intake: publishing to %s failed: %s", source.topic, type(exc).__name__)
            requests_total.labels(code="503").inc()
            return _error(503, "unavailable", "the event could not be stored; retry later",
                          {"Retry-After": "5"})
        if known is NOT_SEEN:
            ids.reserve(id_key, digest)
            ids.confirm(id_key)
        requests_total.labels(code="202").inc()
        return JSONResponse({"id": envelope.id, "topic": source.topic}, status_code=202)

    @app.get("/v1/sources/{system}/deadletters", responses=http_docs.GET_RESPONSES,
             response_model=http_docs.DeadLetterPage, summary="This system's own dead letters (no content)")
    async def get_dead_letters(system: str, credentials: Caller,
                               after: int = Query(-1, ge=-1, description="dead-letter offset to continue after"),
                               limit: int = Query(100, ge=1, le=1000)) -> Response:
        refused = check_caller(system, credentials)
        if refused is not None:
            return refused
        found, next_after = await run_in_threadpool(own_dead_letters, dead_letters, system, after, limit)
        requests_total.labels(code="200").inc()
        return JSONResponse({"system": system, "dead_letters": found, "next_after": next_after})

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(http_docs.docs_page(app.openapi()))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics_page() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _publish_and_wait(publisher: Publisher, topic: str, key: bytes, value: bytes) -> None:
    future = publisher.publish(topic, key, value, [("tsunagu.intake", b"http")])
    if future is not None:
        future.get(timeout=PUBLISH_TIMEOUT_S)  # 202 only once the broker has it


def main() -> None:
    container = bootstrap()
    settings = container.settings
    try:
        app = create_app(settings, container.publisher("http", linger_ms=0), ids=container.http_ids(),
                         dead_letters=container.vendor_dead_letters())
        uvicorn.run(app, host=settings.http_host, port=settings.http_port,
                    log_level="info", access_log=False)  # access logs would carry nothing useful but paths
    finally:
        container.close()


if __name__ == "__main__":
    main()
