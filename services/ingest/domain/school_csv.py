"""校務系 media: rows of a school CSV/TSV (Japanese column names) → source payloads.

Columns and values are documented for schools in docs/school-csv.md. Cells are NFKC-normalised first,
so full-width digits and half-width kana in spreadsheets need no special care.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from services.ingest.domain.errors import IngestRejected

# Japanese column name → payload field, per what a file holds. English field names work as well.
COMMON_COLUMNS = {"児童生徒番号": "student_id", "生徒番号": "student_id", "児童番号": "student_id",
                  "学校コード": "school_code"}
STUDENT_COLUMNS = {
    "氏名": "name_kanji", "氏名(漢字)": "name_kanji", "氏名カナ": "name_kana", "氏名(カナ)": "name_kana",
    "フリガナ": "name_kana", "ふりがな": "name_kana", "生年月日": "birth_date", "性別": "sex", "学年": "grade",
    "組": "class_name", "宛名番号": "atena_no", "住所": "address", "区分": "change", "転出日": "left_date",
}
ATTENDANCE_COLUMNS = {"年度": "school_year", "月": "month", "欠席日数": "absence_days", "遅刻回数": "late_arrivals",
                      "授業日数": "school_days"}
CHECKUP_COLUMNS = {"健診日": "checkup_date", "検診日": "checkup_date", "身長": "height_cm", "体重": "weight_kg"}
SURVEY_COLUMNS = {"調査": "survey", "調査種別": "survey", "回答日": "answered_date", "得点": "score",
                  "朝食を食べない": "skips_breakfast", "困り感": "distress"}

FILE_KINDS: dict[str, tuple[str, dict[str, str]]] = {
    # kind: (event type or system prefix, columns)
    "students": ("school_students.student", STUDENT_COLUMNS),
    "attendance": ("school_affairs.attendance.reported", ATTENDANCE_COLUMNS),
    "checkup": ("school_affairs.health_checkup.recorded", CHECKUP_COLUMNS),
    "survey": ("school_surveys.survey.answered", SURVEY_COLUMNS),
}
KIND_SYSTEM = {"students": "school_students", "attendance": "school_affairs", "checkup": "school_affairs",
               "survey": "school_surveys"}
_CHANGE_KINDS = {"": "registered", "新規": "registered", "登録": "registered", "在籍": "registered",
                 "registered": "registered", "変更": "changed", "訂正": "changed", "changed": "changed",
                 "転出": "left", "卒業": "left", "除籍": "left", "left": "left"}
_SEX = {"1": "1", "2": "2", "男": "1", "女": "2", "男性": "1", "女性": "2", "M": "1", "F": "2"}
_TRUE = {"1", "はい", "有", "あり", "○", "◯", "true", "TRUE", "True", "yes", "Y"}
_FALSE = {"0", "いいえ", "無", "なし", "×", "false", "FALSE", "False", "no", "N"}
_SURVEYS = {"生活習慣": "lifestyle", "生活習慣調査": "lifestyle", "lifestyle": "lifestyle",
            "学習定着度": "learning", "学習定着度調査": "learning", "learning": "learning"}
_BOOL_FIELDS = {"skips_breakfast", "distress"}
GETA = "〓"  # the customary stand-in for a character the system cannot hold
# U+FFFD marks a byte the decoder could not read; the private-use area is where 外字 land in CP932.
_UNREADABLE = re.compile("[\ufffd\ue000-\uf8ff]")


def _clean(header: str) -> str:
    return unicodedata.normalize("NFKC", header).replace(" ", "").replace("\ufeff", "").strip()


def detect_kind(header: Sequence[str]) -> str:
    """Which kind of file this is, from its columns."""
    names = {_clean(h) for h in header}
    if names & {"欠席日数", "absence_days"}:
        return "attendance"
    if names & {"身長", "height_cm"} and names & {"体重", "weight_kg"}:
        return "checkup"
    if names & {"回答日", "answered_date", "調査", "調査種別", "survey"}:
        return "survey"
    if names & {"氏名", "氏名(漢字)", "name_kanji", "氏名カナ", "氏名(カナ)", "フリガナ", "ふりがな", "name_kana",
                "転出日", "left_date"}:
        return "students"
    raise IngestRejected("invalid_data", "cannot tell from the header what the file holds (see docs/school-csv.md)")


def column_fields(kind: str, header: Sequence[str]) -> list[str | None]:
    """Payload field per column (None: a column we do not read); refuses a header missing a key column."""
    columns = {**COMMON_COLUMNS, **FILE_KINDS[kind][1]}
    known_fields = set(columns.values())
    fields: list[str | None] = []
    for name in header:
        cleaned = _clean(name)
        fields.append(columns.get(cleaned) or (cleaned if cleaned in known_fields else None))
    for required in ("student_id", "school_code"):
        if required not in fields:
            raise IngestRejected("invalid_data", f"the header has no column for {required} "
                                 f"({'児童生徒番号' if required == 'student_id' else '学校コード'})")
    return fields


def japanese_column(kind: str, field: str) -> str:
    for name, mapped in {**COMMON_COLUMNS, **FILE_KINDS[kind][1]}.items():
        if mapped == field:
            return name
    return field


def row_payload(kind: str, fields: Sequence[str | None], cells: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The event type and payload for one row; raises IngestRejected naming the column, never the value."""
    if len(cells) != len(fields):
        raise IngestRejected("invalid_data", f"row has {len(cells)} cells; the header has {len(fields)}")
    payload: dict[str, Any] = {}
    check_cells = _UNREADABLE.search("".join(cells)) is not None  # one scan per row, cells only if needed
    for field, raw in zip(fields, cells, strict=True):
        if field is None:
            continue
        if check_cells and (bad := _UNREADABLE.search(raw)):
            if bad.group() == "\ufffd":
                raise IngestRejected("invalid_encoding", f"{japanese_column(kind, field)}: bytes not in the "
                                     "file's encoding (Shift_JIS/CP932 or UTF-8)")
            raise IngestRejected("invalid_encoding", f"{japanese_column(kind, field)}: 外字 (private-use "
                                 f"character); write the standard kanji or {GETA}")
        value = unicodedata.normalize("NFKC", raw).strip()
        if value != "":
            payload[field] = _coerce(kind, field, value)
    event_type = FILE_KINDS[kind][0]
    if kind == "students":
        change = _CHANGE_KINDS.get(str(payload.pop("change", "")))
        if change is None:
            raise IngestRejected("invalid_value", "区分: expected 新規, 変更 or 転出")
        named = "name_kanji" in payload or "name_kana" in payload
        if change == "left" or ("left_date" in payload and not named):
            change = "left"
            payload = {k: payload[k] for k in ("student_id", "school_code", "left_date") if k in payload}
        else:
            payload.pop("left_date", None)
            if not named:  # every other column may be blank (docs/school-csv.md), but a name is needed to link
                raise IngestRejected("invalid_value", "氏名 / 氏名カナ: one of them is required")
        event_type = f"{event_type}.{change}"
    return event_type, payload


def _coerce(kind: str, field: str, value: str) -> Any:
    if field == "sex":
        if value not in _SEX:
            raise IngestRejected("invalid_value", "性別: expected 1/2 or 男/女")
        return _SEX[value]
    if field in _BOOL_FIELDS:
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise IngestRejected("invalid_value", f"{japanese_column(kind, field)}: expected はい/いいえ (1/0)")
    if field == "survey":
        if value not in _SURVEYS:
            raise IngestRejected("invalid_value", "調査: expected 生活習慣 or 学習定着度")
        return _SURVEYS[value]
    return value  # numbers stay text: the contract's validation reports a bad number by its column


def row_event_id(system: str, event_type: str, payload: Mapping[str, Any]) -> str:
    """Same row content → same id, so importing a file twice emits nothing new (and a corrected row does)."""
    canonical = "\x1f".join(f"{k}={payload[k]}" for k in sorted(payload))
    digest = hashlib.sha256(f"{event_type}\x1e{canonical}".encode()).hexdigest()[:32]
    return f"csv-{system}-{digest}"
