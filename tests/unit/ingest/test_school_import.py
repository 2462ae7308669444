"""School media files in every shape schools send them: encodings, delimiters, bad rows, re-imports."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.csv_files import open_csv
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.domain.errors import IngestRejected
from services.ingest.service_layer.school_import import ImportReport, import_school_file

pytestmark = pytest.mark.unit

STUDENTS = (
    "児童生徒番号,学校コード,氏名,氏名カナ,生年月日,性別,学年,組,宛名番号\r\n"
    "S001,B140210000013,髙橋 太郎,ﾀｶﾊｼ ﾀﾛｳ,H30/4/1,男,1,1組,\r\n"
    "S002,B140210000013,福岡 花子,フクオカ ハナコ,平成30年5月2日,女,1,2組,１０００００００００１２\r\n"
    "S003,B140210000013,博多 次郎,ハカタ ジロウ,平成32年1月1日,男,1,1組,\r\n"
    "S004,B140210000013,西 三郎,ニシ サブロウ,2018-06-01,X,1,1組,\r\n"
    "\r\n"
)


class Run:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.publisher = MemoryPublisher()
        self.ledger = ImportLedger(tmp_path / "ledger.sqlite3")

    def write(self, name: str, text: str, encoding: str = "utf-8", raw: bytes = b"") -> Path:
        path = self.tmp_path / name
        path.write_bytes(text.encode(encoding) + raw)
        return path

    def run(self, path: Path) -> ImportReport:
        return import_school_file(open_csv(path), publisher=self.publisher, ledger=self.ledger,
                                  now=lambda: datetime(2026, 4, 10, tzinfo=UTC),
                                  rejects_path=path.with_suffix(".rejected.csv"), max_event_bytes=1_048_576)

    def events(self) -> list[dict[str, object]]:
        return [json.loads(v or b"") for t, _, v, _ in self.publisher.sent if t.startswith("source.")]

    def dead_letters(self) -> list[DeadLetterHeaders]:
        return [DeadLetterHeaders.from_kafka(h) for t, _, _, h in self.publisher.sent if t == "ingest.deadletter.v1"]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    return Run(tmp_path)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_students_file_imports_in_any_encoding_schools_use(run: Run, encoding: str) -> None:
    report = run.run(run.write("students.csv", STUDENTS, encoding))

    assert report.encoding == ("cp932" if encoding == "cp932" else "utf-8")
    assert (report.published, dict(report.rejected)) == (2, {"invalid_value": 2})
    first, second = run.events()
    assert first["type"] == "school_students.student.registered"
    assert first["data"] == {"student_id": "S001", "school_code": "B140210000013", "name_kanji": "髙橋 太郎",
                             "name_kana": "タカハシ タロウ", "birth_date": "H30/4/1", "sex": "1", "grade": "1",
                             "class_name": "1組"}
    assert second["data"]["atena_no"] == "100000000012"  # type: ignore[index]


def test_rejected_rows_go_to_a_rejects_file_with_line_and_reason_and_to_the_dead_letter_topic(run: Run) -> None:
    path = run.write("students.csv", STUDENTS)
    report = run.run(path)

    assert report.rejects_file is not None
    with report.rejects_file.open(encoding="utf-8-sig", newline="") as rejects:
        rows = list(csv.reader(rejects))
    assert rows[0][:3] == ["行", "理由", "種別"]
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        ("4", "生年月日 (birth_date): date outside its era (era year past the era's end, or before its first day)",
         "invalid_value"),
        ("5", "性別: expected 1/2 or 男/女", "invalid_value"),
    ]
    assert sorted((d.offset, d.error_class, d.system) for d in run.dead_letters()) == [
        (4, "invalid_value", "school_students"), (5, "invalid_value", "school_students")]


def test_importing_the_same_file_again_emits_nothing_new(run: Run) -> None:
    path = run.write("students.csv", STUDENTS)
    run.run(path)
    sent_before = len(run.publisher.sent)

    again = run.run(path)

    assert (again.published, again.already_imported, sum(again.rejected.values())) == (0, 2, 2)
    assert len(run.publisher.sent) == sent_before, "neither records nor dead letters are sent twice"


def test_a_corrected_row_is_imported_on_the_next_run(run: Run) -> None:
    run.run(run.write("students.csv", STUDENTS))
    fixed = run.run(run.write("students.csv", STUDENTS.replace("平成32年1月1日", "平成30年1月1日")))

    assert (fixed.published, fixed.already_imported) == (1, 2)


def test_shift_jis_with_gaiji_or_unmappable_bytes_refuses_only_those_rows(run: Run) -> None:
    header_and_good = STUDENTS.split("\r\n")[0] + "\r\n" + STUDENTS.split("\r\n")[1] + "\r\n"
    gaiji = "S010,B140210000013,".encode("cp932") + b"\xf0\x40" + "田 花子,ﾊﾅｺ,H30/4/1,女,1,1組,\r\n".encode("cp932")
    broken = "S011,B140210000013,".encode("cp932") + b"\x85\x40" + "田 一郎,ｲﾁﾛｳ,H30/4/1,男,1,1組,\r\n".encode("cp932")
    path = run.write("sjis.csv", header_and_good, "cp932", gaiji + broken)

    report = run.run(path)

    assert report.encoding == "cp932"
    assert (report.published, dict(report.rejected)) == (1, {"invalid_encoding": 2})
    assert report.rejects_file is not None
    text = report.rejects_file.read_text(encoding="utf-8-sig")
    assert "外字" in text and "bytes not in the file's encoding" in text


def test_tab_separated_attendance_is_detected_from_its_header(run: Run) -> None:
    path = run.write("attendance.tsv", "児童生徒番号\t学校コード\t年度\t月\t欠席日数\t遅刻回数\n"
                                       "S001\tB140210000013\t2025\t５\t3\t1\n"
                                       "S002\tB140210000013\t2025\t5\tたくさん\t0\n")
    report = run.run(path)

    assert (report.kind, report.published, dict(report.rejected)) == ("attendance", 1, {"invalid_data": 1})
    assert run.events()[0]["data"] == {"student_id": "S001", "school_code": "B140210000013", "school_year": "2025",
                                       "month": "5", "absence_days": "3", "late_arrivals": "1"}
    assert report.rejects_file is not None
    assert "欠席日数 (absence_days)" in report.rejects_file.read_text(encoding="utf-8-sig")


def test_a_checkup_and_a_survey_file(run: Run) -> None:
    checkup = run.run(run.write("checkup.csv", "児童生徒番号,学校コード,健診日,身長,体重\n"
                                               "S001,B1,R7.4.20,117.2,20.1\n"))
    survey = run.run(run.write("survey.csv", "児童生徒番号,学校コード,調査,回答日,朝食を食べない,困り感\n"
                                             "S001,B1,生活習慣,2025-06-10,はい,いいえ\n"))

    assert (checkup.kind, checkup.published, survey.kind, survey.published) == ("checkup", 1, "survey", 1)
    assert run.events()[1]["data"] == {"student_id": "S001", "school_code": "B1", "survey": "lifestyle",
                                       "answered_date": "2025-06-10", "skips_breakfast": True, "distress": False}


def test_a_left_row_becomes_a_left_event(run: Run) -> None:
    run.run(run.write("left.csv", "児童生徒番号,学校コード,氏名,生年月日,性別,学年,区分,転出日\n"
                                  "S001,B1,福岡 太郎,H30/4/1,1,1,転出,2026-03-25\n"))

    (event,) = run.events()
    assert (event["type"], event["data"]) == ("school_students.student.left",
                                              {"student_id": "S001", "school_code": "B1", "left_date": "2026-03-25"})


def test_a_header_without_the_student_id_column_refuses_the_whole_file(run: Run) -> None:
    with pytest.raises(IngestRejected, match="児童生徒番号"):
        run.run(run.write("bad.csv", "学校コード,氏名,生年月日\nB1,福岡 太郎,H30/4/1\n"))


def test_a_row_with_too_many_cells_is_refused(run: Run) -> None:
    report = run.run(run.write("cells.csv", "児童生徒番号,学校コード,健診日,身長,体重\n"
                                            "S001,B1,R7.4.20,117.2,20.1,extra\n"))

    assert dict(report.rejected) == {"invalid_data": 1}
