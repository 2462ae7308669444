"""Issue 14: school rows with blank optional fields are accepted; names without a space are split where the
surname list makes the split knowable."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.topics.ingest_records import RecordV1
from services.ingest.adapters.csv_files import open_csv
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.domain.normalise import kana_key
from services.ingest.domain.surnames import split_kana
from services.ingest.entrypoints.examples import example_event
from services.ingest.service_layer.handlers import Accepted
from services.ingest.service_layer.school_import import import_school_file

from .fakes import Harness

pytestmark = pytest.mark.unit

BLANKS = (
    "児童生徒番号,学校コード,氏名,氏名カナ,生年月日,性別,学年,組,宛名番号,住所\r\n"
    "S001,B140210000013,須田 観宇,スダ ミウ,H28/4/2,,,,,\r\n"  # no 性別, 学年, 組, 住所
    "S002,B140210000013,須田観宇,,2016-04-02,女,3,,,\r\n"  # kanji only, without a space
    "S003,B140210000013,,スダミウ,2016-04-02,,,,,\r\n"  # kana only, without a space
    "S004,B140210000013,,,2016-04-02,女,3,,,\r\n"  # no name at all: refused
)


def _import(tmp_path: Path, text: str) -> tuple[list[dict[str, object]], list[list[str]]]:
    path = tmp_path / "students.csv"
    path.write_text(text, encoding="utf-8")
    publisher = MemoryPublisher()
    report = import_school_file(open_csv(path), publisher=publisher, ledger=ImportLedger(tmp_path / "l.sqlite3"),
                                now=lambda: datetime(2026, 4, 10, tzinfo=UTC),
                                rejects_path=path.with_suffix(".rejected.csv"), max_event_bytes=1_048_576)
    rejects = [line.split(",")[:3] for line in
               report.rejects_file.read_text(encoding="utf-8-sig").splitlines()[1:]] if report.rejects_file else []
    return [json.loads(v or b"") for t, _, v, _ in publisher.sent if t.startswith("source.")], rejects


def test_rows_with_blank_optional_fields_are_accepted_and_a_row_without_any_name_is_refused(tmp_path: Path) -> None:
    events, rejects = _import(tmp_path, BLANKS)
    assert [e["data"]["student_id"] for e in events] == ["S001", "S002", "S003"]  # type: ignore[index]
    assert "sex" not in events[0]["data"] and "grade" not in events[0]["data"]  # type: ignore[operator]
    assert rejects == [["5", "氏名 / 氏名カナ: one of them is required", "invalid_value"]]


def test_a_kana_only_file_is_recognised_as_students(tmp_path: Path) -> None:
    events, rejects = _import(tmp_path, "児童生徒番号,学校コード,氏名カナ,生年月日\r\nS9,B1,スダ ミウ,2016-04-02\r\n")
    assert [e["type"] for e in events] == ["school_students.student.registered"] and rejects == []


def _subject(**data: object) -> dict[str, object]:
    event = example_event("school_students.student.registered", **data)
    outcome = Harness().send(event)
    assert isinstance(outcome, Accepted), outcome
    record = RecordV1.model_validate(json.loads(outcome.value)["data"])
    return record.persons[0].model_dump(exclude_none=True)


def test_a_blank_sex_and_kana_flow_as_unknown() -> None:
    subject = _subject(sex=None, name_kana=None, grade=None, name_kanji="須田 観宇")
    assert "sex" not in subject and "kana_key" not in subject and subject["kanji_key"] == "須田観宇"


def test_blank_strings_over_http_are_not_known_either() -> None:
    """A vendor's JSON made from a spreadsheet carries empty cells as "": not a reason to refuse the record."""
    subject = _subject(sex="", name_kana="", grade="", class_name=" ", address="\u3000", atena_no="",
                       name_kanji="須田 観宇")
    assert "sex" not in subject and "kana_key" not in subject and "address_key" not in subject
    assert "atena_no" not in subject and subject["kanji_key"] == "須田観宇"


@pytest.mark.parametrize(("kana", "kanji", "split"), [
    ("スダミウ", "須田観宇", ("スダ", "ミウ")),  # the kanji starts with a listed surname read スダ
    ("スダミウ", "須田 観宇", ("スダ", "ミウ")),  # the separated kanji's surname reading fixes the kana split
    ("ナカムラミウ", "中村美羽", ("ナカムラ", "ミウ")),  # the longest listed surname (中村, not 中)
    ("ｽﾀﾞﾐｳ", None, ("スダ", "ミウ")),  # kana alone: one reading explains it far better than any other
])
def test_an_unseparated_kana_name_is_split_where_knowable(kana: str, kanji: str | None,
                                                          split: tuple[str, str]) -> None:
    subject = _subject(name_kana=kana, name_kanji=kanji)
    assert (subject["surname_kana_key"], subject["given_kana_key"]) == split
    assert subject["name_kana"] == kana, "the original stays as the source wrote it"


def test_an_unknowable_split_is_left_to_linkage() -> None:
    assert split_kana(kana_key("ホゲラモゲタ"), None) is None  # no listed surname starts it
    assert split_kana(kana_key("スダミウ"), "田中 観宇") is None  # the kanji's surname reading does not fit


@pytest.mark.parametrize(("kanji", "reading"), [("林 優真", "ハヤシ"), ("須田観宇", "スダ"), ("中村美羽", "ナカムラ")])
def test_a_kanji_only_name_carries_its_surnames_listed_reading_for_blocking(kanji: str, reading: str) -> None:
    subject = _subject(name_kana=None, name_kanji=kanji)
    assert subject["surname_kana_key"] == reading
    assert "kana_key" not in subject and "given_kana_key" not in subject, "nothing to compare a reading guess with"


def test_a_kanji_only_name_of_an_unlisted_surname_carries_no_reading() -> None:
    assert "surname_kana_key" not in _subject(name_kana=None, name_kanji="鬮鬮 観宇")
