"""Every generated event fits its source contract; ids are unique; time only moves forward; keys are right."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS
from simulator.city import City
from simulator.life.engine import SimConfig

pytestmark = pytest.mark.unit


def test_every_event_of_a_noisy_city_validates(noisy_run) -> None:
    models = {}
    for event in noisy_run.events:
        model = SOURCE_SYSTEMS[event.system].event_types[event.type]
        envelope_model = models.setdefault(model, Envelope[model])  # type: ignore[valid-type]
        envelope = envelope_model.model_validate(event.envelope())
        assert envelope.subject == event.key


def test_all_sixteen_systems_and_every_event_type_occur(clean_run, noisy_run) -> None:
    types = Counter(e.type for e in clean_run.events + noisy_run.events)
    expected = {t for s in SOURCE_SYSTEMS.values() for t in s.event_types}
    assert expected - set(types) <= {"single_parent_loans.loan.ended"}  # loans run for years
    assert {e.system for e in clean_run.events} == set(SOURCE_SYSTEMS)


def test_ids_unique_and_time_ordered(clean_run) -> None:
    ids = [e.event_id for e in clean_run.events]
    assert len(set(ids)) == len(ids)
    times = [e.time for e in clean_run.events]
    assert times == sorted(times)


def test_keys_are_the_records_atena_or_student_id(clean_run) -> None:
    for e in clean_run.events[:5000]:
        d = e.data
        candidates = {d.get(k) for k in ("atena_no", "student_id", "mother_atena_no", "child_atena_no",
                                          "recipient_atena_no", "head_atena_no")}
        assert e.key in candidates


def test_same_seed_same_events_other_seed_other_people() -> None:
    first = list(City(SimConfig(seed=3, scale=0.001, days=60)).events())
    again = list(City(SimConfig(seed=3, scale=0.001, days=60)).events())
    assert [(e.event_id, e.key, e.data) for e in first] == [(e.event_id, e.key, e.data) for e in again]
    other = list(City(SimConfig(seed=4, scale=0.001, days=60)).events())
    names = {e.data["name_kanji"] for e in first if "name_kanji" in e.data}
    other_names = {e.data["name_kanji"] for e in other if "name_kanji" in e.data}
    assert len(names & other_names) < len(names) / 2
    assert not {e.event_id for e in first} & {e.event_id for e in other}


def test_fast_encoding_is_the_envelope(noisy_run) -> None:
    for e in noisy_run.events[::50]:
        assert json.loads(e.encode()) == e.envelope()
