"""The published JSON Schemas (docs/schemas/) and the intake agree: what one accepts the other accepts.

Every schema's example, and boundary values of every field it constrains (dates around era ends and
calendar limits, lengths at and past their limits, numbers at and past their bounds, each enum value and
one outside, each required field left out, envelope limits), go through a JSON Schema validator as a vendor
would run it and through the intake's own validation (decode_event + record_payload, as HTTP and the worker
do). The two answers must be equal, except for the two rules the guide names as intake-only.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts.sources import SOURCE_SYSTEMS
from contracts.sources._dates import JP_DATE_PATTERN
from services.ingest.domain.dates import parse_jp_date
from services.ingest.domain.errors import IngestRejected, InvalidDate
from services.ingest.domain.intake import decode_event
from services.ingest.domain.records import record_payload
from services.ingest.entrypoints.examples import EXAMPLE_TIME, SYSTEM_OF_TYPE, example_event

from .jsonschema_lite import KEYWORDS, errors, is_valid

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[3] / "docs" / "schemas"
INDEX = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
SCHEMA_OF = {e["type"]: json.loads((SCHEMAS / e["schema"]).read_text(encoding="utf-8")) for e in INDEX}

# Around every era's first and last day, calendar limits, every accepted spelling, and the range's ends.
DATES = [
    "2025-05-01", "2025/5/1", "20250501", "2025.5.1", "2025年5月1日", "２０２５年５月１日", "二〇二五年五月一日",
    "令和7年5月1日", "令和七年五月一日", "令和〇七年五月一日", "R7.5.1", "r07/05/01", "Ｒ７．５．１", "㋿7年5月1日",
    "令和元年5月1日", "令和元年4月30日", "令和1年5月1日", "令和82年12月31日", "令和83年1月1日",
    "平成31年4月30日", "平成31年5月1日", "平成32年1月1日", "平成三十二年一月一日", "H30/4/1", "h30.4.1", "㍻30年4月1日",
    "平成元年1月8日", "平成元年1月7日", "平成 30 年 4 月 1 日", "昭和64年1月7日", "昭和64年1月8日", "昭和65年1月1日",
    "昭和元年12月25日", "昭和元年12月24日", "S50.1.1", "大正15年12月24日", "大正15年12月25日", "大正元年7月30日",
    "大正元年7月29日", "明治45年7月29日", "明治45年7月30日", "明治元年1月25日", "M1.1.24", "1868-01-25",
    "1868-01-24", "2100-12-31", "2101-01-01", "1867-12-31", "2025-02-30", "2025-04-31", "2025-04-30", "2025-13-01",
    "2025-00-10", "2025-01-00", "2025-1-32", "令和7年2月30日", "令和7年4月31日", "令和七年十三月一日",
    "2024-02-29", "令和6年2月29日", "令和7年2月28日", "H0.1.1", "X7.5.1", "令和7年", "2025-05", "not a date",
]
# What the intake refuses and the schema cannot say (docs/vendor-guide.md, "What Tsunagu does with the values").
INTAKE_ONLY = {"2月29日 outside a leap year": ["2025-02-29", "令和7年2月29日", "2023/2/29"]}


def intake_accepts(event: dict[str, Any]) -> bool:
    system = SOURCE_SYSTEMS[SYSTEM_OF_TYPE[event["type"]]]
    try:
        record_payload(system.system, decode_event(system, json.dumps(event, ensure_ascii=False).encode(), 1 << 20))
        return True
    except IngestRejected:
        return False


def _data_schema(schema: dict[str, Any]) -> dict[str, Any]:
    return schema["$defs"][schema["properties"]["data"]["$ref"].removeprefix("#/$defs/")]


def _plain(field: dict[str, Any]) -> dict[str, Any]:
    """The non-null member of an optional field's anyOf (not the blank string a school field may also be)."""
    members = [m for m in field.get("anyOf", [field]) if m.get("type") != "null" and m.get("pattern") != r"^\s*$"]
    return members[0] if len(members) == 1 else field


def _after_the_event(value: str) -> bool:
    try:
        return parse_jp_date(value) > EXAMPLE_TIME.date()
    except InvalidDate:
        return False


def _fill(field: dict[str, Any], length: int) -> str:
    return ("1" if "pattern" in field else "あ") * length


def cases(event_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    example = example_event(event_type, event_id="agree-1")
    yield "example", example
    data_schema = _data_schema(SCHEMA_OF[event_type])

    def changed(**data: Any) -> dict[str, Any]:
        event = copy.deepcopy(example)
        event["data"].update(data)
        return event

    for name, field in data_schema["properties"].items():
        plain = _plain(field)
        if plain.get("pattern") == JP_DATE_PATTERN:
            for value in DATES:
                if name == "birth_date" and _after_the_event(value):
                    continue  # a birth after the event is refused by the intake only (its own test below)
                yield f"{name}={value}", changed(**{name: value})
            continue
        if plain.get("type") == "string" and "enum" not in plain:
            low, high = plain.get("minLength", 0), plain.get("maxLength")
            if low > 0:
                yield f"{name} shorter than {low}", changed(**{name: _fill(plain, low - 1)})
            if high is not None:
                yield f"{name} at {high}", changed(**{name: _fill(plain, high)})
                yield f"{name} past {high}", changed(**{name: _fill(plain, high + 1)})
        for value in plain.get("enum", []):
            yield f"{name}={value}", changed(**{name: value})
        if "enum" in plain or "const" in plain:
            yield f"{name} outside its values", changed(**{name: "bogus"})
        for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if bound in plain:
                step = 1 if plain["type"] == "integer" else 0.5
                for value in (plain[bound] - step, plain[bound], plain[bound] + step):
                    yield f"{name}={value}", changed(**{name: value})
    for name, field in data_schema["properties"].items():
        if any(m.get("pattern") == r"^\s*$" for m in field.get("anyOf", [])):  # blank means not known
            for value in ("", "  ", "\u3000"):
                yield f"{name}={value!r}", changed(**{name: value})
    if "anyOf" in data_schema and {"name_kanji", "name_kana"} <= data_schema["properties"].keys():
        yield "both names blank", changed(name_kanji="", name_kana=" ")  # one of them is required
        yield "no name at all", changed(name_kanji=None, name_kana=None)
    if "postal_code" in data_schema["properties"]:
        for value in ("812-0053", "〒８１２－００５３", "8120053", "", "812-005", "812-00533", "ABC-DEFG"):
            yield f"postal_code={value}", changed(postal_code=value)
    for name in data_schema.get("required", []):
        event = copy.deepcopy(example)
        del event["data"][name]
        yield f"without {name}", event
    envelope_changes = [
        ("id of 128", {"id": "i" * 128}), ("id of 129", {"id": "i" * 129}), ("empty id", {"id": ""}),
        ("time without offset", {"time": "2026-01-05T09:30:00"}), ("specversion 0.3", {"specversion": "0.3"}),
        ("schemaversion 0", {"schemaversion": 0}), ("subject of 129", {"subject": "s" * 129}),
        ("text content", {"datacontenttype": "text/plain"}),
    ]
    for label, change in envelope_changes:
        yield label, {**copy.deepcopy(example), **change}


ALL_CASES = [(t, label, event) for t in sorted(SCHEMA_OF) for label, event in cases(t)]


def test_the_schemas_use_only_keywords_the_validator_knows() -> None:
    def walk(node: Any, parent: str = "") -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if parent not in ("properties", "$defs"):
                    yield key
                yield from walk(value, key)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    assert {k for schema in SCHEMA_OF.values() for k in walk(schema)} <= KEYWORDS


def test_every_source_event_type_has_a_published_schema() -> None:
    assert set(SCHEMA_OF) == set(SYSTEM_OF_TYPE)


@pytest.mark.parametrize(("event_type", "label", "event"), ALL_CASES,
                         ids=[f"{t}:{label}" for t, label, _ in ALL_CASES])
def test_schema_and_intake_agree(event_type: str, label: str, event: dict[str, Any]) -> None:
    schema = SCHEMA_OF[event_type]
    assert is_valid(schema, event) == intake_accepts(event), errors(schema, event, schema)


@pytest.mark.parametrize("value", [v for values in INTAKE_ONLY.values() for v in values])
def test_the_documented_intake_only_rules_are_refused_by_the_intake(value: str) -> None:
    event = example_event("public_assistance.case.started", start_date=value)
    assert is_valid(SCHEMA_OF["public_assistance.case.started"], event)
    assert not intake_accepts(event)


def test_a_birth_after_the_event_is_refused_by_the_intake_only() -> None:
    event = example_event("school_students.student.registered", birth_date="2100-01-01")
    assert is_valid(SCHEMA_OF["school_students.student.registered"], event)
    assert not intake_accepts(event)
