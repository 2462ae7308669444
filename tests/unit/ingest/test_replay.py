"""Replaying dead letters: original bytes back to the source topic, once, filtered, then accepted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.entrypoints.examples import example_event
from services.ingest.service_layer.handlers import Accepted, Rejected
from services.ingest.service_layer.replay import DeadLetter, ReplayFilter, replay

from .fakes import Harness

pytestmark = pytest.mark.unit


def dead_letter_of(outcome: object, offset: int) -> DeadLetter:
    assert isinstance(outcome, Rejected)
    return DeadLetter(0, offset, outcome.key, outcome.value, outcome.headers)


@pytest.fixture
def ledger(tmp_path: Path) -> ImportLedger:
    return ImportLedger(tmp_path / "replay.sqlite3")


def test_a_dead_letter_goes_back_unchanged_and_passes_once_the_cause_is_fixed(ledger: ImportLedger) -> None:
    harness = Harness()
    event = example_event("childcare.enrolment.started", event_id="late")
    event["data"]["facility_kind"] = "after_school_club"  # not (yet) in the contract
    letter = dead_letter_of(harness.send(event, key=b"k-1", headers=[("trace", b"t")]), offset=7)
    publisher = MemoryPublisher()

    report = replay([letter], publisher=publisher, ledger=ledger, only=ReplayFilter())

    assert dict(report.replayed) == {"childcare": 1}
    ((topic, key, value, headers),) = publisher.sent
    assert (topic, key, value) == ("source.childcare.v1", b"k-1", letter.value)
    assert headers == [("trace", b"t"), ("tsunagu.replay.of", b"dlq:0:7")]
    # The source fixes its data; the replayed bytes of a corrected event flow like any other.
    fixed = json.loads(value or b"")
    fixed["data"]["facility_kind"] = "licensed_nursery"
    assert isinstance(harness.send(fixed, topic=topic, headers=headers), Accepted)


def test_each_dead_letter_is_replayed_once_unless_asked_again(ledger: ImportLedger) -> None:
    letter = dead_letter_of(Harness().send(b"{", topic="source.disability.v1"), offset=1)
    publisher = MemoryPublisher()

    replay([letter], publisher=publisher, ledger=ledger, only=ReplayFilter())
    second = replay([letter], publisher=publisher, ledger=ledger, only=ReplayFilter())
    third = replay([letter], publisher=publisher, ledger=ledger, only=ReplayFilter(), again=True)

    assert (second.replayed_before, sum(third.replayed.values()), len(publisher.sent)) == (1, 1, 2)


def test_filters_by_system_error_class_and_event_id(ledger: ImportLedger) -> None:
    harness = Harness()
    letters = [
        dead_letter_of(harness.send(b"{", topic="source.disability.v1"), 1),
        dead_letter_of(harness.send(example_event("public_assistance.case.started", event_id="p1",
                                                  start_date="R7.2.30")), 2),
        dead_letter_of(harness.send(example_event("public_assistance.case.started", event_id="p2",
                                                  head_atena_no="x")), 3),
    ]
    publisher = MemoryPublisher()

    report = replay(letters, publisher=publisher, ledger=ledger,
                    only=ReplayFilter(system="public_assistance", error_class="invalid_value"))

    assert (dict(report.replayed), report.not_matching) == ({"public_assistance": 1}, 2)
    assert replay(letters, publisher=publisher, ledger=ledger, only=ReplayFilter(event_id="p2"),
                  dry_run=True).replayed == {"public_assistance": 1}
    assert len(publisher.sent) == 1, "a dry run publishes nothing"


def test_a_dead_letter_from_a_topic_that_is_no_source_is_not_replayed(ledger: ImportLedger) -> None:
    letter = dead_letter_of(Harness().send(b"{}", topic="source.payroll.v1"), 1)

    report = replay([letter], publisher=MemoryPublisher(), ledger=ledger, only=ReplayFilter())

    assert report.not_replayable == 1


def test_nothing_is_marked_replayed_when_the_broker_is_down(ledger: ImportLedger) -> None:
    letter = dead_letter_of(Harness().send(b"{", topic="source.disability.v1"), offset=1)
    publisher = MemoryPublisher()
    publisher.fail = True

    with pytest.raises(ConnectionError):
        replay([letter], publisher=publisher, ledger=ledger, only=ReplayFilter())
    assert ledger.outcome("dlq:0:1") is None
