"""School media (校務系): CSV files as school offices hand them over, in the layout of docs/school-csv.md.

One file per kind and delivery day: ``<YYYY-MM-DD>_児童生徒.csv``, ``_出欠.csv``, ``_健康診断.csv``, ``_調査.csv``.
Japanese column names; students carry 区分 (新規 / 変更 / 転出). Encoding ``utf-8`` (with BOM, as spreadsheet
software writes it) or ``cp932`` (Shift_JIS as Windows writes it), CRLF line ends. Characters Shift_JIS
cannot hold (𠮷 …) are written as their common form, else 〓.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

from contracts.sources import SOURCE_SYSTEMS
from simulator.events import SourceEvent
from simulator.sinks.base import SendReport

SCHOOL_SYSTEMS = frozenset(name for name, s in SOURCE_SYSTEMS.items() if s.school_media)
FOLD = {"𠮷": "吉", "髙": "高", "﨑": "崎", "邉": "辺", "邊": "辺"}
KEYS = [("児童生徒番号", "student_id"), ("学校コード", "school_code")]
LAYOUTS: dict[str, list[tuple[str, str]]] = {
    "児童生徒": [*KEYS, ("氏名", "name_kanji"), ("氏名カナ", "name_kana"), ("生年月日", "birth_date"), ("性別", "sex"),
                    ("学年", "grade"), ("組", "class_name"), ("宛名番号", "atena_no"), ("住所", "address"),
                    ("区分", "区分"), ("転出日", "left_date")],
    "出欠": [*KEYS, ("年度", "school_year"), ("月", "month"), ("欠席日数", "absence_days"),
                  ("遅刻回数", "late_arrivals"), ("授業日数", "school_days")],
    "健康診断": [*KEYS, ("健診日", "checkup_date"), ("身長", "height_cm"), ("体重", "weight_kg")],
    "調査": [*KEYS, ("調査", "survey"), ("回答日", "answered_date"), ("得点", "score"),
                  ("朝食を食べない", "skips_breakfast"), ("困り感", "distress")],
}
KIND_OF_TYPE: dict[str, tuple[str, str | None]] = {  # event type → (file kind, 区分)
    "school_students.student.registered": ("児童生徒", "新規"),
    "school_students.student.changed": ("児童生徒", "変更"),
    "school_students.student.left": ("児童生徒", "転出"),
    "school_affairs.attendance.reported": ("出欠", None),
    "school_affairs.health_checkup.recorded": ("健康診断", None),
    "school_surveys.survey.answered": ("調査", None),
}
SURVEY_JA = {"lifestyle": "生活習慣", "learning": "学習定着度"}


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_cp932(text: str) -> str:
    try:
        text.encode("cp932")
        return text
    except UnicodeEncodeError:
        out = []
        for ch in text:
            ch = FOLD.get(ch, ch)
            try:
                ch.encode("cp932")
            except UnicodeEncodeError:
                ch = "〓"
            out.append(ch)
        return "".join(out)


class SchoolCsvSink:
    def __init__(self, directory: Path, encoding: str = "utf-8") -> None:
        if encoding not in ("utf-8", "cp932"):
            raise ValueError("encoding must be utf-8 or cp932")
        self.directory = directory
        self.encoding = encoding
        directory.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, tuple[IO[str], Any]] = {}
        self._day = ""
        self._report = SendReport()
        self.files: list[Path] = []

    def send(self, event: SourceEvent) -> None:
        kind_and_division = KIND_OF_TYPE.get(event.type)
        if kind_and_division is None:
            self._report.fail(event.topic, "not a school media event type")
            return
        kind, division = kind_and_division
        day = event.time.date().isoformat()
        if day != self._day:
            self._close_all()
            self._day = day
        name = f"{day}_{kind}.csv"
        entry = self._open.get(name)
        if entry is None:
            path = self.directory / name
            f = path.open("w", encoding="utf-8-sig" if self.encoding == "utf-8" else "cp932", newline="")
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow([header for header, _ in LAYOUTS[kind]])
            entry = self._open[name] = (f, writer)
            self.files.append(path)
        data = {**event.data, "区分": division}
        if "survey" in data:
            data["survey"] = SURVEY_JA[data["survey"]]
        row = [cell(data.get(field)) for _, field in LAYOUTS[kind]]
        entry[1].writerow([to_cp932(v) for v in row] if self.encoding == "cp932" else row)
        self._report.sent[event.topic] += 1

    def _close_all(self) -> None:
        for f, _ in self._open.values():
            f.close()
        self._open.clear()

    def close(self) -> SendReport:
        self._close_all()
        return self._report
