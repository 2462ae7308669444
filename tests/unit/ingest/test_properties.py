"""Property tests: every valid event of every schema is accepted; anything else is refused, never a crash."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics.ingest_records import RecordV1
from services.ingest.domain import normalise
from services.ingest.domain.dates import parse_jp_date
from services.ingest.domain.errors import InvalidDate
from services.ingest.entrypoints.examples import PAYLOADS, SYSTEM_OF_TYPE, example_event, topic_of
from services.ingest.service_layer.handlers import Accepted, Rejected

from .fakes import Harness
from .strategies import ERAS, json_values, render_date, valid_payloads

pytestmark = pytest.mark.unit

EVENT_TYPES = sorted(PAYLOADS)
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(EVENT_TYPES))
    event = example_event(event_type, event_id=draw(st.uuids()).hex)
    event["data"] = draw(valid_payloads(event_type))
    return event


@FAST
@given(valid_events())
def test_every_valid_event_is_accepted_with_a_key_from_its_persons(event: dict[str, Any]) -> None:
    outcome = Harness().send(event)

    assert isinstance(outcome, Accepted), outcome
    record = RecordV1.model_validate(json.loads(outcome.value)["data"])
    keys = {p.atena_no for p in record.persons} | {f"student:{p.school_code}:{p.student_id}" for p in record.persons}
    assert outcome.key.decode() in keys


@FAST
@given(valid_events(), st.data())
def test_a_required_field_removed_is_refused(event: dict[str, Any], data: st.DataObject) -> None:
    model = SOURCE_SYSTEMS[SYSTEM_OF_TYPE[event["type"]]].event_types[event["type"]]
    required = sorted(name for name, f in model.model_fields.items() if f.is_required())
    del event["data"][data.draw(st.sampled_from(required))]

    outcome = Harness().send(event)

    assert isinstance(outcome, Rejected) and outcome.error_class == "invalid_data"


@FAST
@given(valid_events(), st.data(), json_values)
def test_any_field_set_to_any_json_value_is_accepted_or_refused_never_a_crash(
        event: dict[str, Any], data: st.DataObject, value: Any) -> None:
    topic = topic_of(event["type"])
    target = data.draw(st.sampled_from(["data", "envelope"]))
    container = event["data"] if target == "data" else event
    container[data.draw(st.sampled_from(sorted(container)))] = value

    outcome = Harness().send(event, topic=topic)

    assert isinstance(outcome, Accepted | Rejected)
    if isinstance(outcome, Rejected):
        assert outcome.error_class != "internal_error", outcome.reason


@FAST
@given(st.binary(max_size=300), st.sampled_from(["source.resident-registry.v1", "source.school-students.v1"]))
def test_arbitrary_bytes_are_refused_with_a_known_class(raw: bytes, topic: str) -> None:
    outcome = Harness().send(raw, topic=topic)

    assert isinstance(outcome, Rejected)
    assert outcome.error_class in {"not_json", "invalid_encoding", "invalid_envelope", "unknown_type"}


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1927, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 5))
def test_every_rendering_of_a_day_parses_back_to_it(day: date, style: int) -> None:
    assert parse_jp_date(render_date(day, style)) == day


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ERAS[1:]), st.integers(1, 30), st.integers(1, 12), st.integers(1, 28))
def test_an_era_year_past_the_era_is_refused(era: tuple[str, str, date, date], extra: int, month: int,
                                             day: int) -> None:
    name, _, first, last = era
    year = last.year - first.year + 1 + extra
    with pytest.raises(InvalidDate):
        parse_jp_date(f"{name}{year}年{month}月{day}日")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30))
def test_matching_keys_are_stable_under_refolding(text: str) -> None:
    assert normalise.kanji_key(normalise.kanji_key(text)) == normalise.kanji_key(text)
    assert normalise.kana_key(normalise.kana_key(text)) == normalise.kana_key(text)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねの"
                        "はばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんー　 ", max_size=20))
def test_hiragana_and_katakana_spellings_share_a_kana_key(hiragana: str) -> None:
    katakana = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ん" else c for c in hiragana)
    assert normalise.kana_key(hiragana) == normalise.kana_key(katakana)
