"""The ingest use case end to end with fakes: every event type, every refusal class, duplicates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from contracts.topics.ingest_records import RecordV1
from services.ingest.entrypoints.examples import PAYLOADS, example_event
from services.ingest.service_layer.handlers import Accepted, Duplicate, Rejected

from .fakes import Harness

pytestmark = pytest.mark.unit


def accepted_record(outcome: object) -> tuple[str, dict[str, Any], RecordV1]:
    assert isinstance(outcome, Accepted), outcome
    envelope = json.loads(outcome.value)
    return outcome.key.decode(), envelope, RecordV1.model_validate(envelope["data"])


@pytest.mark.parametrize("event_type", sorted(PAYLOADS))
def test_every_event_type_of_every_system_is_accepted(event_type: str) -> None:
    key, envelope, record = accepted_record(Harness().send(example_event(event_type, event_id="e-1")))

    assert envelope["type"] == "ingest.record.accepted"
    assert envelope["id"] == record.record_id == "e-1"
    assert envelope["subject"] == key
    assert record.event_type == event_type
    assert record.persons, "every record names at least one person"


def test_a_registry_person_carries_original_values_and_matching_keys() -> None:
    event = example_event("resident_registry.person.changed", name_kanji="髙橋　﨑子", name_kana="ﾀｶﾊｼ ｻｷｺ",
                          birth_date="平成30年4月1日", ward_code=None, postal_code="〒８１２－００５３")
    key, _, record = accepted_record(Harness().send(event))

    (subject,) = record.persons
    assert key == subject.atena_no == "100000000012"
    assert (subject.role, subject.name_kanji, subject.name_kana) == ("subject", "髙橋　﨑子", "ﾀｶﾊｼ ｻｷｺ")
    assert (subject.kanji_key, subject.kana_key) == ("高橋崎子", "タカハシサキコ")
    assert (subject.surname_kana_key, subject.given_kana_key) == ("タカハシ", "サキコ")
    assert subject.birth_date == "2018-04-01"
    assert subject.ward_code == "40131"  # from the address, as the source left it out
    assert subject.postal_code == "8120053"
    assert record.household_no == "200000000034"
    assert record.record_date == "2025-05-01"  # 異動日, not the birth date
    assert "name_kanji" not in record.attributes and "household_no" not in record.attributes


def test_an_allowance_names_its_guardian_first_and_every_covered_child() -> None:
    event = example_event("child_allowance.eligibility.started", covered_atena_nos=["１００", "200"])
    key, _, record = accepted_record(Harness().send(event))

    assert key == "100000000020"
    assert [(p.role, p.atena_no) for p in record.persons] == [
        ("guardian", "100000000020"), ("covered_child", "100"), ("covered_child", "200")]
    assert record.attributes == {"entitlement_id": "E-0001", "start_date": "2025-05-01",
                                 "allowance": "jido_fuyo_teate"}


def test_a_student_without_atena_no_is_keyed_by_school_and_student_id() -> None:
    key, _, record = accepted_record(Harness().send(example_event("school_affairs.attendance.reported")))

    assert key == "student:B140210000013:S0123456"
    assert record.record_date == "2026-01-01"  # 2025年度 January is calendar 2026


def test_mother_and_child_keep_their_roles_in_maternal_child_health() -> None:
    _, _, record = accepted_record(Harness().send(example_event("maternal_child_health.birth.recorded")))

    assert [(p.role, p.atena_no) for p in record.persons] == [("mother", "100000000020"), ("child", "100000000012")]
    assert record.record_date == "2025-07-18"


@pytest.mark.parametrize(("raw", "error_class"), [
    (b"\xff\xfe not utf-8", "invalid_encoding"),
    (b"{not json", "not_json"),
    (b"[1, 2]", "invalid_envelope"),
    (None, "not_json"),
    (json.dumps({"type": "public_assistance.case.started"}).encode(), "invalid_envelope"),
    (json.dumps(example_event("resident_registry.person.left")).encode(), "unknown_type"),
    (b'{"type": "public_assistance.case.started", "data": {"name": "\\ud800"}}', "invalid_encoding"),
    (b" " * 1_048_577, "too_large"),
])
def test_poison_is_dead_lettered_with_its_class(raw: bytes | None, error_class: str) -> None:
    outcome = Harness().send(raw, topic="source.public-assistance.v1", key=b"orig-key",
                             headers=[("vendor", b"v1")])

    assert isinstance(outcome, Rejected), outcome
    assert outcome.error_class == error_class
    if error_class == "too_large":  # the size instead of the body: up to 2 MiB would not fit the topic
        assert raw is not None and (outcome.key, outcome.value) == (b"orig-key", None)
        assert ("tsunagu.dlq.original_bytes", str(len(raw)).encode()) in outcome.headers
        assert "the limit is 1048576" in outcome.reason
    else:
        assert (outcome.key, outcome.value) == (b"orig-key", raw)
    assert outcome.headers[0] == ("vendor", b"v1")
    headers = DeadLetterHeaders.from_kafka(outcome.headers)
    assert (headers.error_class, headers.topic, headers.system) == (error_class, "source.public-assistance.v1",
                                                                     "public_assistance")


@pytest.mark.parametrize(("changes", "error_class", "reason_starts"), [
    ({"start_date": "平成32年1月1日"}, "invalid_value", "data.start_date: date outside its era"),
    ({"start_date": "2025-02-30"}, "invalid_value", "data.start_date: impossible calendar date"),
    ({"head_atena_no": "ABC-123"}, "invalid_data", "data.head_atena_no: String should match pattern"),
    ({"head_atena_no": None}, "invalid_data", "data.head_atena_no:"),
    ({"case_no": 12}, "invalid_data", "data.case_no: Input should be a valid string"),
])
def test_bad_payloads_are_refused_with_a_reason_that_names_the_field_not_the_value(
        changes: dict[str, Any], error_class: str, reason_starts: str) -> None:
    outcome = Harness().send(example_event("public_assistance.case.started", event_id="bad-1", **changes))

    assert isinstance(outcome, Rejected)
    assert (outcome.error_class, DeadLetterHeaders.from_kafka(outcome.headers).event_id) == (error_class, "bad-1")
    assert outcome.reason.startswith(reason_starts)
    for value in changes.values():
        if isinstance(value, str):
            assert value not in outcome.reason


def test_a_birth_date_after_the_event_is_refused() -> None:
    outcome = Harness().send(example_event("resident_registry.person.registered", birth_date="2027-01-01"))

    assert isinstance(outcome, Rejected)
    assert outcome.reason == "data.birth_date: after the event's own time (in the future)"


def test_a_postal_code_that_is_not_seven_digits_is_refused() -> None:
    outcome = Harness().send(example_event("resident_registry.person.registered", postal_code="812-00"))

    assert isinstance(outcome, Rejected) and outcome.error_class == "invalid_value"


def test_an_event_on_a_topic_that_is_no_source_is_dead_lettered() -> None:
    outcome = Harness().send(example_event("public_assistance.case.started"), topic="source.unknown.v1")

    assert isinstance(outcome, Rejected) and outcome.error_class == "unknown_system"


def test_a_repeated_event_id_is_emitted_once() -> None:
    harness = Harness()
    first = harness.send(example_event("public_assistance.case.started", event_id="same"))
    second = harness.send(example_event("public_assistance.case.started", event_id="same"))

    assert isinstance(first, Accepted) and isinstance(second, Duplicate)
    assert harness.count("tsunagu_ingest_events_processed_total", outcome="duplicate") == 1


def test_the_same_id_from_two_systems_is_two_events() -> None:
    harness = Harness()
    assert isinstance(harness.send(example_event("public_assistance.case.started", event_id="x")), Accepted)
    assert isinstance(harness.send(example_event("childcare.enrolment.started", event_id="x")), Accepted)


def test_a_refused_event_can_come_again_after_the_fix() -> None:
    harness = Harness()
    bad = harness.send(example_event("public_assistance.case.started", event_id="fixme", start_date="R7.2.30"))
    good = harness.send(example_event("public_assistance.case.started", event_id="fixme"))

    assert isinstance(bad, Rejected) and isinstance(good, Accepted)


def test_a_replayed_dead_letter_that_fails_again_carries_one_set_of_reasons() -> None:
    first = Harness().send(b"nope", topic="source.childcare.v1")
    assert isinstance(first, Rejected)
    again = Harness().send(b"nope", topic="source.childcare.v1", headers=first.headers)

    assert isinstance(again, Rejected)
    assert [k for k, _ in again.headers].count("tsunagu.dlq.reason") == 1


def test_outcomes_and_failures_are_counted() -> None:
    harness = Harness()
    harness.send(example_event("childcare.enrolment.started"))
    harness.send(b"{", topic="source.childcare.v1")

    assert harness.count("tsunagu_ingest_events_processed_total", outcome="accepted") == 1
    assert harness.count("tsunagu_ingest_events_processed_total", outcome="rejected") == 1
    assert harness.count("tsunagu_ingest_events_failed_total", reason="not_json", intake="kafka") == 1
    assert harness.count("tsunagu_ingest_processing_duration_seconds_count") == 2


def test_a_refusal_of_an_event_that_came_over_http_is_counted_as_http() -> None:
    harness = Harness()
    harness.send(b"{", topic="source.childcare.v1", headers=[("tsunagu.intake", b"http")])
    harness.send(b"{", topic="source.childcare.v1", headers=[("tsunagu.intake", b"anything-else")])

    assert harness.count("tsunagu_ingest_events_failed_total", reason="not_json", intake="http") == 1
    assert harness.count("tsunagu_ingest_events_failed_total", reason="not_json", intake="kafka") == 1


def test_the_same_id_with_the_same_content_is_a_no_op_however_it_is_serialised() -> None:
    harness = Harness()
    event = example_event("public_assistance.case.started", event_id="retry-1")
    assert isinstance(harness.send(event), Accepted)
    reordered = json.dumps(dict(reversed(list(event.items()))), indent=2).encode()
    again = harness.send({**event, "unknown_extra": "ignored"})

    assert isinstance(again, Duplicate)
    assert isinstance(harness.send(reordered, topic="source.public-assistance.v1"), Duplicate)


def test_the_same_id_with_different_content_is_dead_lettered_never_dropped() -> None:
    harness = Harness()
    harness.send(example_event("public_assistance.case.started", event_id="corr-1"))
    correction = harness.send(example_event("public_assistance.case.started", event_id="corr-1",
                                            start_date="2025-06-01"))

    assert isinstance(correction, Rejected)
    assert correction.error_class == "duplicate_id_different_content"
    assert "new id" in correction.reason
    assert DeadLetterHeaders.from_kafka(correction.headers).event_id == "corr-1"
    assert harness.count("tsunagu_ingest_events_failed_total", reason="duplicate_id_different_content",
                         intake="kafka") == 1
    fixed = harness.send(example_event("public_assistance.case.started", event_id="corr-2",
                                       start_date="2025-06-01"))
    assert isinstance(fixed, Accepted)


@pytest.mark.parametrize("event_type", sorted(PAYLOADS))
def test_the_record_is_exactly_its_contract_without_nulls(event_type: str) -> None:
    # Records are built as plain dicts for speed; this pins them to RecordV1 field for field.
    outcome = Harness().send(example_event(event_type))
    assert isinstance(outcome, Accepted)
    data = json.loads(outcome.value)["data"]

    assert RecordV1.model_validate(data).model_dump(mode="json", exclude_none=True) == data
