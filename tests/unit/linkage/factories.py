"""Builders of RecordV1 the way ingest produces them (PERSON_FIELDS), for linkage tests."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from contracts.topics.ingest_records import PersonKeys, RecordV1
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.records import Result, handle_record
from services.linkage.service_layer.unit import Change

_RUN = uuid.uuid4().hex[:6]  # record ids are event ids: unique across test runs sharing a broker's topics
_counter = itertools.count(1)


def _next() -> str:
    return f"{_RUN}-{next(_counter)}"


def person(role: str = "subject", **fields: Any) -> PersonKeys:
    return PersonKeys(role=role, **fields)  # type: ignore[arg-type]


def resident(atena: str, household: str, *, birth: str, name_kana: str = "フクオカ タロウ",
             name_kanji: str = "福岡 太郎", sex: str = "1", reason: str = "birth", effective: str = "2025-04-01",
             event: str = "registered", address: str = "福岡市東区箱崎1-2-3", ward: str = "40131",
             record_id: str | None = None) -> RecordV1:
    surname, given = name_kana.split(" ")
    keys = person(atena_no=atena, name_kanji=name_kanji, name_kana=name_kana,
                  kanji_key=name_kanji.replace(" ", ""), kana_key=name_kana.replace(" ", ""),
                  surname_kana_key=surname, given_kana_key=given, birth_date=birth, sex=sex,
                  address=address, address_key=address.replace("福岡市", ""), ward_code=ward)
    return RecordV1(record_id=record_id or f"rr-{_next()}", system="resident_registry",
                    event_type=f"resident_registry.person.{event}", occurred_at=f"{effective}T09:00:00+09:00",
                    record_date=effective, household_no=household, persons=[keys],
                    attributes={"relation_to_head": "子", "effective_date": effective, "reason": reason})


def left(atena: str, household: str, effective: str, reason: str = "move_out") -> RecordV1:
    return RecordV1(record_id=f"rr-{_next()}", system="resident_registry",
                    event_type="resident_registry.person.left", occurred_at=f"{effective}T09:00:00+09:00",
                    record_date=effective, household_no=household, persons=[person(atena_no=atena)],
                    attributes={"effective_date": effective, "reason": reason})


def assistance(event: str, case_no: str, household: str, head: str, day: str) -> RecordV1:
    date_field = "start_date" if event == "started" else "end_date"
    return RecordV1(record_id=f"pa-{_next()}", system="public_assistance",
                    event_type=f"public_assistance.case.{event}", occurred_at=f"{day}T09:00:00+09:00",
                    record_date=day, household_no=household, persons=[person("household_head", atena_no=head)],
                    attributes={"case_no": case_no, date_field: day})


def record(system: str, event_type: str, persons: list[PersonKeys], day: str = "2025-06-01",
           household: str | None = None, **attributes: Any) -> RecordV1:
    return RecordV1(record_id=f"{system}-{_next()}", system=system, event_type=event_type,
                    occurred_at=f"{day}T09:00:00+09:00", record_date=day, household_no=household,
                    persons=persons, attributes=attributes)


def run(state: LinkageState, rec: RecordV1, settings: MatchSettings | None = None) -> Result:
    return handle_record(rec, Change(state, rec.occurred_at), settings or MatchSettings())


def facts(result: Result) -> list[dict[str, Any]]:
    return [o.payload for o in result.out if o.channel == "fact"]


def children(result: Result) -> list[dict[str, Any]]:
    return [o.payload for o in result.out if o.channel == "child"]


def reviews(result: Result) -> list[dict[str, Any]]:
    return [o.payload for o in result.out if o.channel == "review"]


def student(student_id: str, kana: str, kanji: str, birth: str, sex: str = "1",
            address: str | None = "東区箱崎1-2-3", school: str = "SC1") -> Any:
    surname, given = kana.split(" ")
    return record("school_students", "school_students.student.registered", [person(
        student_id=student_id, school_code=school, name_kana=kana, name_kanji=kanji, kana_key=kana.replace(" ", ""),
        kanji_key=kanji.replace(" ", ""), surname_kana_key=surname, given_kana_key=given, birth_date=birth,
        sex=sex, address_key=address)], grade=3)


def noise_records() -> list[RecordV1]:
    """A small registry: the children to find and a crowd with common names and shared birth dates."""
    records = [
        resident("1", "H1", birth="2016-04-02", name_kana="フクオカ タロウ", name_kanji="福岡 太郎"),
        resident("2", "H2", birth="2016-04-02", name_kana="サトウ ユイ", name_kanji="佐藤 結衣", sex="2",
                 address="福岡市南区大橋1-1"),
        resident("3", "H3", birth="2016-09-09", name_kana="ハカタ ユウタ", name_kanji="博多 悠太",
                 address="福岡市博多区博多駅前2-2"),
        resident("4", "H3", birth="2016-09-09", name_kana="ハカタ ユウキ", name_kanji="博多 悠希",
                 address="福岡市博多区博多駅前2-2"),
    ]
    for i in range(40):
        records.append(resident(f"9{i:03d}", f"HX{i}", birth=f"2015-0{1 + i % 9}-1{i % 10}",
                                name_kana="サトウ ハルト", name_kanji="佐藤 陽翔", address=f"福岡市西区姪浜{i}-1"))
    return records


def registry_with_noise(state: LinkageState) -> None:
    """``noise_records`` into ``state``."""
    for rec in noise_records():
        run(state, rec)
