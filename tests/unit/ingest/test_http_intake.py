"""The HTTP intake in memory: credentials per system, precise refusals, publish-then-202."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry

from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.config import IngestSettings
from services.ingest.entrypoints.http_intake import create_app
from services.ingest.examples import example_event

pytestmark = pytest.mark.unit

TOKEN = "pa-token-0123456789abcdefghij"
URL = "/v1/sources/public_assistance/events"


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def client(publisher: MemoryPublisher) -> TestClient:
    settings = IngestSettings(environment="development", max_event_bytes=10_000,
                              http_tokens={"public_assistance": TOKEN, "childcare": "cc-token"})
    return TestClient(create_app(settings, publisher, CollectorRegistry()))


def post(client: TestClient, body: Any, token: str = TOKEN, url: str = URL,
         content_type: str = "application/json") -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return client.post(url, content=raw, headers={"Authorization": f"Bearer {token}",
                                                  "Content-Type": content_type})


def test_a_valid_event_is_published_to_its_source_topic_and_accepted(
        client: TestClient, publisher: MemoryPublisher) -> None:
    response = post(client, example_event("public_assistance.case.started", event_id="h-1"))

    assert response.status_code == 202
    assert response.json() == {"id": "h-1", "topic": "source.public-assistance.v1"}
    ((topic, key, value, headers),) = publisher.sent
    assert (topic, key) == ("source.public-assistance.v1", b"100000000020")
    assert json.loads(value or b"")["id"] == "h-1"
    assert ("tsunagu.intake", b"http") in headers


def test_cloudevents_content_type_is_accepted(client: TestClient) -> None:
    response = post(client, example_event("public_assistance.case.started"),
                    content_type="application/cloudevents+json; charset=utf-8")
    assert response.status_code == 202


@pytest.mark.parametrize(("token", "status"), [("", 401), ("wrong", 401), ("cc-token", 403)])
def test_a_system_publishes_only_with_its_own_token(client: TestClient, publisher: MemoryPublisher,
                                                    token: str, status: int) -> None:
    response = post(client, example_event("public_assistance.case.started"), token=token)

    assert response.status_code == status
    assert publisher.sent == []


def test_development_tokens_exist_only_for_systems_without_one(client: TestClient) -> None:
    event = example_event("disability.certificate.issued")
    assert post(client, event, token="dev-disability", url="/v1/sources/disability/events").status_code == 202
    assert post(client, example_event("public_assistance.case.started"),
                token="dev-public_assistance").status_code == 401


def test_production_refuses_development_tokens() -> None:
    with pytest.raises(ValueError, match="public_assistance"):
        IngestSettings(environment="production", http_tokens={"public_assistance": "dev-public_assistance"})


@pytest.mark.parametrize(("body", "status", "error_class"), [
    (b"{not json", 400, "not_json"),
    (b"\xff\xfe", 400, "invalid_encoding"),
    ({"type": "public_assistance.case.started"}, 422, "invalid_envelope"),
    (example_event("childcare.enrolment.started"), 422, "unknown_type"),
    (example_event("public_assistance.case.started", head_atena_no=None), 422, "invalid_data"),
    (example_event("public_assistance.case.started", start_date="平成32年1月1日"), 422, "invalid_value"),
    (b"{" + b" " * 10_001 + b"}", 413, "too_large"),
])
def test_bad_payloads_get_a_precise_refusal_and_nothing_is_published(
        client: TestClient, publisher: MemoryPublisher, body: Any, status: int, error_class: str) -> None:
    response = post(client, body)

    assert response.status_code == status
    assert response.json()["error_class"] == error_class
    assert publisher.sent == []


def test_the_refusal_names_the_field_not_the_value(client: TestClient) -> None:
    response = post(client, example_event("public_assistance.case.started", head_atena_no="ｱｲｳ-SECRET"))

    assert response.json()["reason"].startswith("data.head_atena_no:")
    assert "SECRET" not in response.text


def test_an_unknown_system_is_404(client: TestClient) -> None:
    assert post(client, {}, url="/v1/sources/payroll/events").status_code == 404


def test_a_non_json_content_type_is_415(client: TestClient) -> None:
    assert post(client, b"a,b\n", content_type="text/csv").status_code == 415


def test_a_broker_outage_is_503_with_retry_after(client: TestClient, publisher: MemoryPublisher) -> None:
    publisher.fail = True
    response = post(client, example_event("public_assistance.case.started"))

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"


def test_metrics_count_requests_by_status(client: TestClient) -> None:
    post(client, example_event("public_assistance.case.started"))
    post(client, b"{")

    text = client.get("/metrics").text
    assert 'tsunagu_ingest_http_requests_total{code="202"} 1.0' in text
    assert 'tsunagu_ingest_http_rejected_total{reason="not_json"} 1.0' in text


def test_tsunagu_environment_production_switches_the_intake_to_production(
        monkeypatch: pytest.MonkeyPatch, publisher: MemoryPublisher) -> None:
    """deploy/run.sh and docker-compose.yml set TSUNAGU_ENVIRONMENT, not the service's own variable."""
    monkeypatch.delenv("TSUNAGU_INGEST_ENVIRONMENT", raising=False)
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_INGEST_HTTP_TOKENS", json.dumps({"public_assistance": TOKEN}))
    settings = IngestSettings()
    assert settings.environment == "production" and settings.http_host == "127.0.0.1"
    client = TestClient(create_app(settings, publisher, CollectorRegistry()))
    event = example_event("disability.certificate.issued")
    assert post(client, event, token="dev-disability", url="/v1/sources/disability/events").status_code == 401
    assert post(client, example_event("public_assistance.case.started")).status_code == 202
    monkeypatch.setenv("TSUNAGU_INGEST_HTTP_TOKENS", json.dumps({"public_assistance": "dev-public_assistance"}))
    with pytest.raises(ValueError, match="public_assistance"):
        IngestSettings()


def test_the_services_own_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_INGEST_ENVIRONMENT", "development")
    assert IngestSettings().environment == "development"
