"""The ward's inbox: a read model (cosmicpython's views.py) beside the write use cases in cases.py.

A ward's inbox holds thousands of rows, so it selects plain columns, not ORM objects (the child's flags and
evidence are large JSON the list does not need), then shows each row as the user may see it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import Alert, Child
from services.casework.domain.access import AccessDenied, Permission, Principal
from services.casework.domain.items import signal_label
from services.casework.service_layer.csv_safe import safe_row

INBOX_LIMIT = 5000


@dataclass(frozen=True)
class InboxFilter:
    tier: str | None = None
    item: int | None = None
    status: str | None = None
    division: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    signal: str | None = None  # 行政とのつながり: a SignalV1 code, e.g. "unenrolled"


@dataclass(frozen=True)
class InboxRow:
    seq: int
    alert_id: str
    child_id: str
    ward_code: str
    tier: str | None
    items: list[int]
    reason: str
    raised_at: datetime
    status: str
    lead_division: str | None
    current_items: list[int]
    name_kanji: str | None
    name_kana: str | None
    birth_date: str | None
    age: int | None
    child_ward_code: str | None = None  # the child's ward of residence now (not shown)
    at_raise: tuple[str | None, str | None, str | None] = (None, None, None)  # name, kana, birth date then
    signals: list[str] = field(default_factory=list)  # the child's current connection signals (codes)
    signals_at_raise: list[str] = field(default_factory=list)  # the codes the child had when the alert was raised

    def as_seen_by(self, principal: Principal, today: date | None = None) -> InboxRow:
        """Only the ward of residence (or an all-ward role) sees the child's current items, signals and name; a
        ward the child has moved away from sees what the alert showed when it was raised, nothing newer."""
        if principal.sees_ward(self.child_ward_code):
            return self
        name_kanji, name_kana, birth_date = self.at_raise
        if today is not None:
            age = age_on(birth_date, today)
        else:
            age = self.age if birth_date == self.birth_date else None
        return replace(self, current_items=list(self.items), name_kanji=name_kanji, name_kana=name_kana,
                       birth_date=birth_date, age=age, signals=list(self.signals_at_raise))

    def api(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id, "child_id": self.child_id, "ward_code": self.ward_code, "tier": self.tier,
            "items": self.items, "reason": self.reason, "raised_at": self.raised_at.isoformat(),
            "status": self.status, "lead_division": self.lead_division, "current_items": self.current_items,
            "name_kanji": self.name_kanji, "name_kana": self.name_kana, "birth_date": self.birth_date,
            "age": self.age, "signals": self.signals,
        }


def age_on(birth_date: str | None, today: date) -> int | None:
    if not birth_date:
        return None
    try:
        born = date.fromisoformat(birth_date)
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def inbox(session: Session, principal: Principal, today: date, flt: InboxFilter = InboxFilter(),
          after_seq: int = 0, limit: int = INBOX_LIMIT) -> list[InboxRow]:
    if not principal.can(Permission.VIEW_CASES):
        raise AccessDenied("view_cases")
    query = (select(Alert.seq, Alert.alert_id, Alert.child_id, Alert.ward_code, Alert.tier, Alert.items,
                    Alert.reason, Alert.raised_at, Alert.state, Alert.lead_division, Child.current_items,
                    Child.name_kanji, Child.name_kana, Child.birth_date, Child.ward_code,
                    Alert.name_kanji_at_raise, Alert.name_kana_at_raise, Alert.birth_date_at_raise,
                    Child.current_signals, Alert.signals_at_raise)
             .join(Child, Child.child_id == Alert.child_id, isouter=True)
             .where(Alert.seq > after_seq).order_by(Alert.seq.desc()).limit(limit))
    scope = principal.ward_scope()
    if scope is not None:
        query = query.where(Alert.ward_code == scope)
    if flt.tier:
        query = query.where(Alert.tier == flt.tier)
    if flt.status:
        query = query.where(Alert.state == flt.status)
    if flt.division:
        query = query.where(Alert.lead_division == flt.division)
    rows = []
    for (seq, alert_id, child_id, ward_code, tier, items, reason, raised_at, state, lead_division, current_items,
         name_kanji, name_kana, birth_date, child_ward, kanji_then, kana_then, born_then, signals,
         signals_then) in session.execute(query).tuples():
        row = InboxRow(
            seq=seq, alert_id=alert_id, child_id=child_id, ward_code=ward_code, tier=tier,
            items=[int(i) for i in items], reason=reason, raised_at=raised_at, status=state,
            lead_division=lead_division, current_items=[int(i) for i in (current_items or [])],
            name_kanji=name_kanji, name_kana=name_kana, birth_date=birth_date, age=age_on(birth_date, today),
            child_ward_code=child_ward, at_raise=(kanji_then, kana_then, born_then),
            signals=list(signals or []), signals_at_raise=list(signals_then or []),
        ).as_seen_by(principal, today)
        # Filters apply to what this user sees: an item or signal the child gained after moving does not match.
        if flt.item is not None and flt.item not in row.items and flt.item not in row.current_items:
            continue
        if flt.signal is not None and flt.signal not in row.signals:
            continue
        if flt.age_min is not None and (row.age is None or row.age < flt.age_min):
            continue
        if flt.age_max is not None and (row.age is None or row.age > flt.age_max):
            continue
        rows.append(row)
    return rows


CSV_HEADER = ["アラートID", "児童ID", "区コード", "氏名", "氏名カナ", "生年月日", "年齢", "階層",
              "該当項目（アラート時）", "該当項目（現在）", "状態", "主担当課", "アラート日時", "行政とのつながり"]


def export_csv(rows: list[InboxRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(safe_row([
            r.alert_id, r.child_id, r.ward_code, r.name_kanji or "", r.name_kana or "", r.birth_date or "",
            "" if r.age is None else r.age, r.tier or "", " ".join(map(str, r.items)),
            " ".join(map(str, r.current_items)), r.status, r.lead_division or "", r.raised_at.isoformat(),
            "、".join(signal_label(code) for code in r.signals)]))
    return out.getvalue()
