"""The HTTP intake's published description: OpenAPI details and a self-contained ``/docs`` page.

The page is rendered here from the OpenAPI document, as plain HTML with no script, style sheet or font from
anywhere: the intake runs on the municipal network, and FastAPI's default Swagger UI loads from a CDN.
"""

from __future__ import annotations

import html
import json
from typing import Any

from pydantic import BaseModel, Field

DESCRIPTION = (
    "Source systems that cannot speak Kafka send their events here, one CloudEvents JSON event per request. "
    "The event contract is the JSON Schema of its type (docs/schemas/, listed in docs/schemas/index.json); "
    "the vendor guide is docs/vendor-guide.md. Every refusal answers {\"error_class\", \"reason\"}; reasons "
    "name the field and the rule, never a value. Authorization: Bearer <your system's token> (in development "
    "dev-<system>, e.g. dev-public_assistance)."
)


class Refusal(BaseModel):
    error_class: str = Field(description="a fixed class, e.g. invalid_value, too_large, duplicate_id_different_content")
    reason: str = Field(description="field and rule, never a value")


class Accepted(BaseModel):
    id: str = Field(description="the event id you sent")
    topic: str = Field(description="the source topic the broker stored it on")


class DeadLetterView(BaseModel):
    offset: int = Field(description="offset in the dead-letter log; pass the last one as `after` to page on")
    time: str | None = Field(description="when the dead letter was written (UTC)")
    error_class: str
    reason: str = Field(description="field and rule, never a value")
    event_id: str | None = Field(description="your event id, when the event got far enough to name it")
    intake: str = Field(description="kafka | http | csv")
    source_topic: str
    source_partition: int
    source_offset: int = Field(description="Kafka: where ingest read the event; CSV: the line; HTTP: -1")


class DeadLetterPage(BaseModel):
    system: str
    dead_letters: list[DeadLetterView]
    next_after: int = Field(description="call again with after=this for the next page (same value: none yet)")


def _refusal(text: str) -> dict[str, Any]:
    return {"model": Refusal, "description": text}


POST_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": Accepted, "description": "the broker has the event; Tsunagu processes it like a Kafka event"},
    400: _refusal("not_json / invalid_encoding: the body is not UTF-8 JSON"),
    401: _refusal("unauthorised: no token, or an unknown one (a dev- token outside development)"),
    403: _refusal("forbidden: the token belongs to another system"),
    404: _refusal("unknown_system: no such system in the path"),
    409: _refusal("duplicate_id_different_content: this id was used for an event with other content; "
                  "a correction needs a new id (the same id with the same content is accepted again: 202)"),
    413: _refusal("too_large: the body is over the limit (1,048,576 bytes); the reason states the limit"),
    415: _refusal("unsupported_media_type: send application/json or application/cloudevents+json"),
    422: _refusal("invalid_envelope / unknown_type / invalid_data / invalid_value: breaks the contract"),
    503: _refusal("unavailable: the broker did not take the event; retry later with the same id "
                  "(Retry-After header)"),
}
GET_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": DeadLetterPage, "description": "your system's dead letters, without their content"},
    401: POST_RESPONSES[401], 403: POST_RESPONSES[403], 404: POST_RESPONSES[404],
}
EVENT_BODY = {
    "requestBody": {
        "required": True,
        "description": "one CloudEvents 1.0 event (structured JSON), at most 1,048,576 bytes",
        "content": {media: {"schema": {"type": "object", "description": "see docs/schemas/<type>.v1.schema.json"},
                            "example": {
                                "specversion": "1.0", "id": "pa-2025-000123", "type": "public_assistance.case.started",
                                "source": "/fukuoka/public-assistance", "time": "2025-05-01T09:30:00+09:00",
                                "datacontenttype": "application/json", "schemaversion": 1,
                                "data": {"case_no": "PA-1", "household_no": "200000000034",
                                         "head_atena_no": "100000000020", "start_date": "令和7年5月1日"}}}
                    for media in ("application/json", "application/cloudevents+json")},
    },
}


def docs_page(openapi: dict[str, Any]) -> str:
    """The OpenAPI document as a readable page: operations, parameters, answers, then the document itself."""
    esc = html.escape
    parts = [f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(openapi['info']['title'])}"
             "</title></head><body>",
             f"<h1>{esc(openapi['info']['title'])}</h1><p>{esc(openapi['info'].get('description', ''))}</p>",
             '<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
             f"{esc(openapi.get('openapi', ''))}).</p>"]
    for path, operations in openapi.get("paths", {}).items():
        for method, op in operations.items():
            parts.append(f"<h2>{esc(method.upper())} {esc(path)}</h2><p>{esc(op.get('summary', ''))}</p>")
            if op.get("description"):
                parts.append(f"<p>{esc(op['description'])}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<table border=\"1\"><tr><th>parameter</th><th>in</th><th>schema</th></tr>")
                parts.extend(f"<tr><td>{esc(p['name'])}</td><td>{esc(p['in'])}</td>"
                             f"<td><code>{esc(json.dumps(p.get('schema', {}), ensure_ascii=False))}</code></td></tr>"
                             for p in params)
                parts.append("</table>")
            body = op.get("requestBody")
            if body:
                parts.append(f"<p>Body: {esc(body.get('description', ''))} "
                             f"({esc(', '.join(body.get('content', {})))})</p>")
            parts.append("<table border=\"1\"><tr><th>status</th><th>meaning</th></tr>")
            parts.extend(f"<tr><td>{esc(str(code))}</td><td>{esc(answer.get('description', ''))}</td></tr>"
                         for code, answer in op.get("responses", {}).items())
            parts.append("</table>")
    parts.append("<h2>OpenAPI document</h2><pre>"
                 f"{esc(json.dumps(openapi, ensure_ascii=False, indent=2))}</pre></body></html>")
    return "".join(parts)
