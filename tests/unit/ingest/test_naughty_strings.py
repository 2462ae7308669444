"""Naughty strings (a selection from big-list-of-naughty-strings, plus Japanese cases) in every text field.

Each is either accepted, with valid JSON downstream, or refused with a reason that does not repeat it.
"""

from __future__ import annotations

import json

import pytest

from contracts.topics.ingest_records import RecordV1
from services.ingest.entrypoints.examples import example_event
from services.ingest.service_layer.handlers import Accepted, Rejected

from .fakes import Harness

pytestmark = pytest.mark.unit

NAUGHTY = [
    "", " ", "\t", "\u3000", "\u3000\u3000", "undefined", "null", "NULL", "None", "true", "0", "-1", "1E+02",
    "0xffffffff", "$1.00", "1/0", "Infinity", "NaN", "ÅÍÎÏ˝ÓÔÒÚÆ☃", "Œ„´‰ˇÁ¨ˆØ∏”’", "田中さんにあげて下さい",
    "パーティーへ行かないか", "和製漢語", "部落格", "사회과학원 어학연구소", "찦차를 타고 온 펲시맨과 쑛다리 똠방각하",
    "社會科學院語學研究所", "울란바토르", "𠜎𠜱𠝹𠱓𠱸𠲖𠳏", "𠮷野家", "髙﨑", "ｶﾞｷﾞｸﾞｹﾞｺﾞ", "ヴヵヶ", "〜～", "Ⅻ㈱㍻",
    "😍", "👩🏽‍👩🏽‍👧🏽‍👦🏽", "🇯🇵", "Ṱ̺̺̕o͞ ̷i̲̬͇̪͙n̝̗͕v̟̜̘̦͟o̶̙̰̠kè͚̮̺̪̹̱̤ ̖t̝͕̳̣̻̪͞h̼͓̲̦̳̘̲e͇̣̰̦̬͎ ̢̼̻̱̘h͚͎͙̜̣̲ͅi̦̲̣̰̤v̻͍e̺̭̳̪̰-m̢iͅn̖̺̞̲̯̰d̵̼̟͙̩̼̘̳",
    "ガ", "か\u3099", "\u200b", "\u200e", "\u202e", "\ufeff", "\ufffd", "\x00", "\x7f", "\r\n",
    "<script>alert(123)</script>", "' OR 1=1 --", "'; DROP TABLE users;--", "{{7*7}}", "${jndi:ldap://x}",
    "%s%s%s%n", "../../../../etc/passwd", "\\", '"', "'", "｀", "A" * 59, "あ" * 60, "Ω" * 61,
]
TEXT_FIELDS = {
    "resident_registry.person.registered": ["name_kanji", "name_kana", "address", "relation_to_head", "postal_code"],
    "school_students.student.registered": ["name_kanji", "name_kana", "student_id", "school_code", "class_name"],
    "long_term_care.certification.started": ["care_level", "insured_no"],
    "public_assistance.case.started": ["case_no", "household_no", "head_atena_no", "start_date"],
}
CASES = [(t, f, s) for t, fields in TEXT_FIELDS.items() for f in fields for s in NAUGHTY]


@pytest.mark.parametrize(("event_type", "field", "naughty"), CASES,
                         ids=[f"{t.split('.')[0]}.{f}.{i}" for i, (t, f, _) in enumerate(CASES)])
def test_a_naughty_string_is_accepted_cleanly_or_refused_without_being_repeated(
        event_type: str, field: str, naughty: str) -> None:
    outcome = Harness().send(example_event(event_type, **{field: naughty}))

    if isinstance(outcome, Accepted):
        record = RecordV1.model_validate(json.loads(outcome.value.decode("utf-8"))["data"])
        assert record.persons
    else:
        assert isinstance(outcome, Rejected)
        assert outcome.error_class in {"invalid_data", "invalid_value"}, outcome.reason
        if len(naughty.strip()) > 3:
            assert naughty not in outcome.reason


@pytest.mark.parametrize("naughty", NAUGHTY)
def test_naughty_event_ids_and_types_never_crash(naughty: str) -> None:
    event = example_event("childcare.enrolment.started")
    for key in ("id", "type", "source", "time", "subject"):
        outcome = Harness().send({**event, key: naughty}, topic="source.childcare.v1")
        assert isinstance(outcome, Accepted | Rejected)
        if isinstance(outcome, Rejected):
            assert outcome.error_class in {"invalid_envelope", "unknown_type"}, outcome.reason


def test_a_lone_surrogate_in_a_name_is_refused_as_an_encoding_error() -> None:
    raw = json.dumps(example_event("resident_registry.person.registered")).replace(
        "\\u798f\\u5ca1 \\u82b1\\u5b50", "\\ud800 \\u82b1\\u5b50").encode()
    outcome = Harness().send(raw, topic="source.resident-registry.v1")

    assert isinstance(outcome, Rejected) and outcome.error_class == "invalid_encoding"


def test_a_two_megabyte_event_is_refused_as_too_large() -> None:
    event = example_event("public_assistance.case.started")
    event["data"]["padding"] = "x" * 2_000_000
    outcome = Harness().send(event)

    assert isinstance(outcome, Rejected) and outcome.error_class == "too_large"
