"""The shared contracts: envelope, the 16 source systems, the topic catalogue, the vendor schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.admin import write_schemas
from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS
from contracts.sources.public_assistance import CaseStarted
from contracts.topics import CATALOGUE
from contracts.topics.ingest_records import PERSON_FIELDS

pytestmark = pytest.mark.unit

GOOD = {
    "specversion": "1.0",
    "id": "pa-1",
    "source": "/fukuoka/public-assistance",
    "type": "public_assistance.case.started",
    "time": "2026-04-01T09:00:00+09:00",
    "subject": "200000000034",
    "schemaversion": 1,
    "data": {"case_no": "C-1", "household_no": "200000000034", "head_atena_no": "100000000012",
             "start_date": "令和8年4月1日"},
}


def test_there_are_sixteen_source_systems_each_with_its_own_topic() -> None:
    assert len(SOURCE_SYSTEMS) == 16
    assert len({s.topic for s in SOURCE_SYSTEMS.values()}) == 16
    assert {s.system for s in SOURCE_SYSTEMS.values() if s.school_media} == {
        "school_students", "school_affairs", "school_surveys"}


def test_every_system_says_which_fields_name_persons() -> None:
    assert set(PERSON_FIELDS) == set(SOURCE_SYSTEMS)
    for system, fields in PERSON_FIELDS.items():
        declared = {name for model in SOURCE_SYSTEMS[system].event_types.values() for name in model.model_fields}
        assert set(fields) <= declared, system


def test_a_valid_event_parses_and_unknown_fields_are_ignored() -> None:
    event = Envelope[CaseStarted].model_validate({**GOOD, "extension": "x", "data": {**GOOD["data"], "extra": 1}})
    assert event.data.case_no == "C-1"
    assert not hasattr(event.data, "extra")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"time": "2026-04-01T09:00:00"}, "time"),  # no offset: ambiguous
        ({"id": ""}, "id"),
        ({"data": {**GOOD["data"], "head_atena_no": "12a"}}, "head_atena_no"),
        ({"data": {k: v for k, v in GOOD["data"].items() if k != "case_no"}}, "case_no"),
    ],
)
def test_an_invalid_event_is_refused_naming_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Envelope[CaseStarted].model_validate({**GOOD, **change})
    assert field in str(error.value)


def test_the_catalogue_has_unique_names_and_sane_configs() -> None:
    names = [t.name for t in CATALOGUE]
    assert len(names) == len(set(names))
    for topic in CATALOGUE:
        assert topic.name.endswith(".v1")
        config = topic.config()
        assert config["cleanup.policy"] in {"compact", "delete"}
        assert (config["retention.ms"] == "-1") == topic.compacted


def test_vendor_schemas_are_written_for_every_event_type(tmp_path: Path) -> None:
    written = write_schemas(tmp_path)
    expected = sum(len(s.event_types) for s in SOURCE_SYSTEMS.values())
    assert len(written) == expected
    schema = json.loads((tmp_path / "public_assistance.case.started.v1.schema.json").read_text("utf-8"))
    assert schema["properties"]["type"]["const"] == "public_assistance.case.started"
    assert "data" in schema["required"]


def test_the_committed_vendor_schemas_are_current(tmp_path: Path) -> None:
    write_schemas(tmp_path)
    committed = Path(__file__).resolve().parents[3] / "docs" / "schemas"
    for path in tmp_path.iterdir():
        assert (committed / path.name).read_text("utf-8") == path.read_text("utf-8"), (
            f"{path.name} is stale: run make schemas")
