"""The rows of a masked extract, read from the case database and masked on the way out.

Nothing that names or locates a person leaves this module: no child, household, alert or user ids (keyed
pseudonyms instead), no name, kana, address, birth date or free text (reasons, notes, evidence summaries);
dates become months, ages become bands (docs/privacy.md).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import Alert, CaseStep, Child, PrivacyOptOut
from services.casework.domain.k_anonymity import KResult, Subject, anonymise
from services.casework.domain.pseudonym import JST, UNKNOWN, age_in_months, month_of, parse_date, pseudonym, sex_label
from services.casework.domain.workflow import APPROACH_METHODS, DIVISIONS

SINGLE_PARENT_ITEM = 19  # 児童扶養手当: the only household-type signal casework holds (docs/privacy.md)
# Structured step details whose values come from fixed lists; every other detail is free text and stays home.
STEP_DETAILS = {"approach_method": frozenset(APPROACH_METHODS), "lead_division": frozenset(DIVISIONS)}
Table = dict[str, list[Any]]


@dataclass
class ExtractRows:
    tables: dict[str, Table]
    k_result: KResult
    subjects_before: int
    pseudonyms: list[str] = field(default_factory=list)


def household_type(items: list[Any], household_id: str | None) -> str:
    if SINGLE_PARENT_ITEM in {int(i) for i in items or []}:
        return "ひとり親（児童扶養手当）"
    return "その他" if household_id else UNKNOWN


def period_bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """The period as UTC instants: Japan-time midnight of the first day to the end of the last day."""
    start = datetime.combine(period_from, time(0), JST).astimezone(UTC)
    end = datetime.combine(period_to + timedelta(days=1), time(0), JST).astimezone(UTC)
    return start, end


def build(session: Session, key: bytes, period_from: date, period_to: date, *, k: int = 5,
          max_suppression: float = 0.01) -> ExtractRows:
    opted_out = set(session.scalars(select(PrivacyOptOut.child_id).where(PrivacyOptOut.active.is_(True))))
    rows = session.execute(select(
        Child.child_id, Child.ward_code, Child.birth_date, Child.sex, Child.household_id, Child.tier,
        Child.current_items, Child.flags).where(Child.status != "merged").order_by(Child.child_id)).all()
    children, subjects = [], []
    for row in rows:
        birth = parse_date(row.birth_date)
        if row.child_id in opted_out or (birth is not None and birth > period_to):
            continue  # 利用停止: not used for analysis either; not yet born in the period
        children.append(row)
        subjects.append(Subject(row.ward_code or UNKNOWN, age_in_months(birth, period_to), sex_label(row.sex),
                                household_type(row.current_items, row.household_id)))
    result = anonymise(subjects, k=k, max_suppression=max_suppression)
    released: dict[str, str] = {}  # child id → pseudonym
    kids: Table = {c: [] for c in ("child_pseudonym", "ward_code", "age_band", "sex", "household_type", "tier",
                                   "current_items")}
    items: Table = {c: [] for c in ("child_pseudonym", "item", "event", "month", "source_systems")}
    for i, row in enumerate(children):
        if i in result.suppressed:
            continue
        pid = released[row.child_id] = pseudonym(key, "child", row.child_id)
        subject = subjects[i]
        for column, value in (("child_pseudonym", pid), ("ward_code", subject.ward_code),
                              ("age_band", result.age_labels[i]), ("sex", subject.sex),
                              ("household_type", subject.household_type), ("tier", row.tier or ""),
                              ("current_items", ";".join(str(int(x)) for x in sorted(row.current_items or [])))):
            kids[column].append(value)
        for flag in row.flags or []:
            systems = sorted({str(e.get("source_system", "")) for e in flag.get("evidence", [])} - {""})
            _item_row(items, pid, int(flag["item"]), "current", month_of(flag.get("raised_on")), ";".join(systems))
    alerts, steps = _alerts_and_steps(session, key, released, items, period_from, period_to)
    tables = {"children": kids, "items": items, "alerts": alerts, "steps": steps}
    return ExtractRows(tables, result, len(subjects), sorted(released.values()))


def _item_row(items: Table, pid: str, item: int, event: str, month: str | None, systems: str = "") -> None:
    for column, value in (("child_pseudonym", pid), ("item", item), ("event", event), ("month", month or ""),
                          ("source_systems", systems)):
        items[column].append(value)


def _alerts_and_steps(session: Session, key: bytes, released: dict[str, str], items: Table, period_from: date,
                      period_to: date) -> tuple[Table, Table]:
    start, end = period_bounds(period_from, period_to)
    alerts: Table = {c: [] for c in ("alert_pseudonym", "child_pseudonym", "ward_code", "tier", "items", "reason",
                                     "raised_month", "state", "lead_division", "outcome")}
    steps: Table = {c: [] for c in ("alert_pseudonym", "step_no", "action", "result", "from_state", "to_state",
                                    "month", "actor_role", "approach_method", "lead_division", "items_gained",
                                    "items_cleared")}
    chosen = [a for a in session.execute(select(
        Alert.alert_id, Alert.child_id, Alert.ward_code, Alert.tier, Alert.items, Alert.reason, Alert.raised_at,
        Alert.state, Alert.lead_division).where(Alert.raised_at >= start, Alert.raised_at < end)
        .order_by(Alert.seq)).all() if a.child_id in released]
    by_alert: dict[str, list[Any]] = defaultdict(list)
    ids = [a.alert_id for a in chosen]
    for chunk in range(0, len(ids), 5000):
        for step in session.execute(select(
                CaseStep.alert_id, CaseStep.action, CaseStep.result, CaseStep.from_state, CaseStep.to_state,
                CaseStep.at, CaseStep.actor_role, CaseStep.details).where(
                CaseStep.alert_id.in_(ids[chunk:chunk + 5000]), CaseStep.at < end)
                .order_by(CaseStep.at, CaseStep.id)).all():
            by_alert[step.alert_id].append(step)
    for a in chosen:
        apid, pid = pseudonym(key, "alert", a.alert_id), released[a.child_id]
        outcome = next((s.result for s in reversed(by_alert[a.alert_id]) if s.action == "終結"), None)
        for column, value in (("alert_pseudonym", apid), ("child_pseudonym", pid), ("ward_code", a.ward_code),
                              ("tier", a.tier or ""), ("items", ";".join(str(int(x)) for x in a.items or [])),
                              ("reason", a.reason), ("raised_month", month_of(a.raised_at)), ("state", a.state),
                              ("lead_division", a.lead_division or ""), ("outcome", outcome or "")):
            alerts[column].append(value)
        for item in a.items or []:
            _item_row(items, pid, int(item), "listed", month_of(a.raised_at))
        for n, s in enumerate(by_alert[a.alert_id], start=1):
            details = s.details or {}
            gained, cleared = _items_of(details.get("gained")), _items_of(details.get("cleared"))
            if s.action == "フラグ変化" and s.at >= start:
                for item in gained:
                    _item_row(items, pid, item, "gained", month_of(s.at))
                for item in cleared:
                    _item_row(items, pid, item, "cleared", month_of(s.at))
            safe = {name: details.get(name, "") if details.get(name, "") in allowed else ""
                    for name, allowed in STEP_DETAILS.items()}
            for column, value in (("alert_pseudonym", apid), ("step_no", n), ("action", s.action),
                                  ("result", s.result or ""), ("from_state", s.from_state or ""),
                                  ("to_state", s.to_state or ""), ("month", month_of(s.at)),
                                  ("actor_role", s.actor_role), ("approach_method", safe["approach_method"]),
                                  ("lead_division", safe["lead_division"]),
                                  ("items_gained", ";".join(map(str, gained))),
                                  ("items_cleared", ";".join(map(str, cleared)))):
                steps[column].append(value)
    return alerts, steps


def _items_of(value: Any) -> list[int]:
    return [int(x) for x in str(value or "").split(",") if x.strip().isdigit()]
