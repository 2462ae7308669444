"""HTTP intake for source systems that cannot speak Kafka.

    POST /v1/sources/{system}/events   Authorization: Bearer <that system's token>
         body: one CloudEvents JSON event (application/json or application/cloudevents+json)
    → 202 {"id", "topic"}  once the broker has the event on source.<system>.v1; the worker then
      processes it like any Kafka-published event. 4xx with {"error_class", "reason"} otherwise.

    python -m services.ingest.entrypoints.http_intake
"""

from __future__ import annotations

import hmac
import logging

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, disable_created_metrics, generate_latest
from starlette.concurrency import run_in_threadpool

from contracts.sources import SOURCE_SYSTEMS
from services.ingest.adapters.kafka import KafkaPublisher, Publisher
from services.ingest.config import DEV_TOKEN_PREFIX, IngestSettings
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.intake import decode_event
from services.ingest.domain.records import record_key, record_payload

log = logging.getLogger(__name__)

JSON_TYPES = ("application/json", "application/cloudevents+json")
_STATUS = {  # a malformed request is 400; a well-formed one that breaks the contract is 422
    "not_json": 400, "invalid_encoding": 400, "too_large": 413, "unknown_system": 404,
    "invalid_envelope": 422, "unknown_type": 422, "invalid_data": 422, "invalid_value": 422,
}
PUBLISH_TIMEOUT_S = 10.0


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


def create_app(settings: IngestSettings, publisher: Publisher, registry: CollectorRegistry | None = None) -> FastAPI:
    registry = registry or CollectorRegistry()
    requests_total = Counter("tsunagu_ingest_http_requests_total", "HTTP intake requests, by status code",
                             ["code"], registry=registry)
    rejected_total = Counter("tsunagu_ingest_http_rejected_total", "HTTP intake events refused, by error class",
                             ["reason"], registry=registry)
    tokens = resolve_tokens(settings)
    limit = settings.max_event_bytes
    app = FastAPI(title="Tsunagu ingest HTTP intake", docs_url=None, redoc_url=None, openapi_url=None)

    def refuse(status: int, error_class: str, reason: str, headers: dict[str, str] | None = None) -> JSONResponse:
        requests_total.labels(code=str(status)).inc()
        rejected_total.labels(reason=error_class).inc()
        return _error(status, error_class, reason, headers)

    def authorised_system(header: str) -> str | None:
        presented = header[7:].strip() if header[:7].lower() == "bearer " else ""
        if not presented:
            return None
        if settings.environment != "development" and presented.startswith(DEV_TOKEN_PREFIX):
            return None  # development tokens are refused outside development, whatever is configured
        for system, valid in tokens.items():
            if any(hmac.compare_digest(presented.encode(), t.encode()) for t in valid):
                return system
        return None

    @app.post("/v1/sources/{system}/events")
    async def post_event(system: str, request: Request) -> Response:
        if system not in SOURCE_SYSTEMS:
            return refuse(404, "unknown_system", "no such source system")
        holder = authorised_system(request.headers.get("authorization", ""))
        if holder is None:
            return refuse(401, "unauthorised", "missing or unknown bearer token",
                          {"WWW-Authenticate": 'Bearer realm="tsunagu-ingest"'})
        if holder != system:
            return refuse(403, "forbidden", "this token may not publish for this system")
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in JSON_TYPES:
            return refuse(415, "unsupported_media_type", f"content type must be one of {', '.join(JSON_TYPES)}")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            return refuse(413, "too_large", f"body is {declared} bytes; the limit is {limit}")
        body = bytearray()
        async for chunk in request.stream():  # counted as it arrives: a missing Content-Length is no way round
            body.extend(chunk)
            if len(body) > limit:
                return refuse(413, "too_large", f"body exceeds the limit of {limit} bytes")
        source = SOURCE_SYSTEMS[system]
        try:
            envelope = decode_event(source, bytes(body), limit)
            key = record_key(record_payload(system, envelope))
        except IngestRejected as exc:
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
        requests_total.labels(code="202").inc()
        return JSONResponse({"id": envelope.id, "topic": source.topic}, status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app


def _publish_and_wait(publisher: Publisher, topic: str, key: bytes, value: bytes) -> None:
    future = publisher.publish(topic, key, value, [("tsunagu.intake", b"http")])
    if future is not None:
        future.get(timeout=PUBLISH_TIMEOUT_S)  # 202 only once the broker has it


def main() -> None:
    disable_created_metrics()
    settings = IngestSettings()
    publisher = KafkaPublisher(settings.kafka_bootstrap, client_id=f"{settings.app_id}-http",
                               max_request_bytes=settings.producer_max_request_bytes, linger_ms=0)
    try:
        uvicorn.run(create_app(settings, publisher), host=settings.http_host, port=settings.http_port,
                    log_level="info", access_log=False)  # access logs would carry nothing useful but paths
    finally:
        publisher.close()


if __name__ == "__main__":
    main()
