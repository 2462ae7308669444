"""The HTTP intake in memory: credentials per system, precise refusals, publish-then-202."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.config import IngestSettings
from services.ingest.entrypoints.examples import example_event
from services.ingest.entrypoints.http_intake import create_app

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


def counted(client: TestClient, error_class: str) -> float:
    for family in text_string_to_metric_families(client.get("/metrics").text):
        for sample in family.samples:
            if sample.name == "tsunagu_ingest_events_failed_total" and sample.labels == {
                    "reason": error_class, "intake": "http"}:
                return sample.value
    return 0.0


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
def test_bad_payloads_get_a_precise_refusal_and_a_dead_letter_and_reach_no_source_topic(
        client: TestClient, publisher: MemoryPublisher, body: Any, status: int, error_class: str) -> None:
    response = post(client, body)

    assert response.status_code == status
    assert response.json()["error_class"] == error_class
    ((topic, key, value, headers),) = publisher.sent
    assert (topic, key) == ("ingest.deadletter.v1", None)
    dlq = DeadLetterHeaders.from_kafka(headers)
    assert (dlq.error_class, dlq.system, dlq.service, dlq.reason) == (
        error_class, "public_assistance", "ingest-http", response.json()["reason"])
    assert value == (None if error_class == "too_large" else (body if isinstance(body, bytes) else value))
    assert counted(client, error_class) == 1
    if error_class == "too_large":
        assert "the limit is 10000" in response.json()["reason"]


def test_the_refusal_names_the_field_not_the_value(client: TestClient) -> None:
    response = post(client, example_event("public_assistance.case.started", head_atena_no="ｱｲｳ-SECRET"))

    assert response.json()["reason"].startswith("data.head_atena_no:")
    assert "SECRET" not in response.text


def test_an_unknown_system_is_404(client: TestClient) -> None:
    assert post(client, {}, url="/v1/sources/payroll/events").status_code == 404
    assert counted(client, "unknown_system") == 1


def test_a_non_json_content_type_is_415_and_dead_lettered_without_the_body(
        client: TestClient, publisher: MemoryPublisher) -> None:
    response = post(client, b"a,b\n", content_type="text/csv")

    assert (response.status_code, response.json()["error_class"]) == (415, "unsupported_media_type")
    ((topic, _key, value, _headers),) = publisher.sent
    assert (topic, value) == ("ingest.deadletter.v1", None)
    assert counted(client, "unsupported_media_type") == 1


def test_unauthenticated_refusals_are_counted_but_write_no_dead_letter(
        client: TestClient, publisher: MemoryPublisher) -> None:
    post(client, example_event("public_assistance.case.started"), token="wrong")
    post(client, example_event("public_assistance.case.started"), token="cc-token")

    assert publisher.sent == []
    assert (counted(client, "unauthorised"), counted(client, "forbidden")) == (1, 1)


def test_a_reused_id_with_other_content_is_409_and_the_same_content_again_is_202(
        client: TestClient, publisher: MemoryPublisher) -> None:
    first = example_event("public_assistance.case.started", event_id="h-dup")
    assert post(client, first).status_code == 202
    assert post(client, dict(reversed(list(first.items())))).status_code == 202  # a retry, keys reordered

    correction = post(client, example_event("public_assistance.case.started", event_id="h-dup",
                                            start_date="2025-06-01"))
    assert correction.status_code == 409
    assert correction.json()["error_class"] == "duplicate_id_different_content"
    assert "new id" in correction.json()["reason"]
    dead = [h for t, _k, _v, h in publisher.sent if t == "ingest.deadletter.v1"]
    assert [DeadLetterHeaders.from_kafka(h).event_id for h in dead] == ["h-dup"]
    renamed = post(client, example_event("public_assistance.case.started", event_id="h-dup-2",
                                         start_date="2025-06-01"))
    assert renamed.status_code == 202


def test_a_vendor_reads_only_its_own_dead_letters_and_none_of_their_content(
        client: TestClient, publisher: MemoryPublisher) -> None:
    post(client, example_event("public_assistance.case.started", event_id="mine", head_atena_no="X-SECRET"))
    post(client, example_event("childcare.enrolment.started", event_id="theirs", child_atena_no="Y"),
         token="cc-token", url="/v1/sources/childcare/events")

    page = client.get("/v1/sources/public_assistance/deadletters", headers={"Authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    letters = page.json()["dead_letters"]
    assert [(d["event_id"], d["error_class"], d["intake"]) for d in letters] == [("mine", "invalid_data", "http")]
    assert "SECRET" not in page.text and "100000000020" not in page.text
    other = client.get("/v1/sources/childcare/deadletters", headers={"Authorization": f"Bearer {TOKEN}"})
    assert other.status_code == 403
    after = client.get("/v1/sources/public_assistance/deadletters",
                       params={"after": page.json()["next_after"]}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert after.json()["dead_letters"] == []
    assert client.get("/v1/sources/public_assistance/deadletters").status_code == 401


def test_the_openapi_document_and_page_are_served_from_the_intake_itself(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post_op = spec["paths"]["/v1/sources/{system}/events"]["post"]
    assert {"202", "400", "401", "403", "404", "409", "413", "415", "422", "503"} <= set(post_op["responses"])
    assert "/v1/sources/{system}/deadletters" in spec["paths"]
    page = client.get("/docs")
    assert page.status_code == 200 and "/v1/sources/{system}/events" in page.text
    # Nothing from outside the machine: no script, style sheet, font or image from anywhere.
    assert "<script" not in page.text and "<link" not in page.text and "http" + "s://" not in page.text


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
    assert 'tsunagu_ingest_events_failed_total{intake="http",reason="not_json"} 1.0' in text


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
