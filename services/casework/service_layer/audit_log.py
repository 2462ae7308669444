"""Appending to and checking the audit trail (who, when, which child, which action, from where)."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.casework.adapters.audit_anchor import AnchorUnreadable, AuditAnchor, note_head
from services.casework.adapters.orm import AuditHead, AuditRecord
from services.casework.domain.access import Principal
from services.casework.domain.audit import GENESIS, AuditEntry, Verification, sealed, verify_chain
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer.csv_safe import safe_row

# SQLite has no row locks: within one process this keeps appends in order (PostgreSQL locks the head row).
_APPEND_LOCK = threading.Lock()
# The container's metrics ride on every session of its factory (bootstrap): dozens of callers append entries
# with only a session at hand.
METRICS_KEY = "tsunagu.casework.metrics"
CSV_COLUMNS = ["seq", "at", "user_id", "role", "action", "child_id", "target", "ward_code", "client", "outcome",
               "detail", "prev_hash", "hash"]


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str
    client: str | None

    @classmethod
    def of(cls, principal: Principal, client: str | None) -> Actor:
        return cls(principal.user_id, principal.role.value, client)


def count_audit_entries(sessions: sessionmaker[Session], metrics: CaseworkMetrics) -> None:
    """Entries appended through sessions of this factory count in ``tsunagu_casework_audit_entries_total``."""
    sessions.configure(info={METRICS_KEY: metrics})


def append(session: Session, actor: Actor, action: str, now: datetime, *, child_id: str | None = None,
           target: str | None = None, ward_code: str | None = None, outcome: str = "ok", detail: str = "") -> int:
    with _APPEND_LOCK:
        head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
        if head is None:
            head = AuditHead(id=1, seq=0, hash=GENESIS)
            session.add(head)
        entry = sealed(AuditEntry(
            seq=head.seq + 1, at=now.isoformat(), user_id=actor.user_id[:64], role=actor.role[:32],
            action=action[:32], child_id=_cut(child_id, 64), target=_cut(target, 160), ward_code=_cut(ward_code, 8),
            client=_cut(actor.client, 64), outcome=outcome[:16], detail=detail[:500], prev_hash=head.hash,
        ))
        session.add(AuditRecord(**entry.content(), hash=entry.hash))
        head.seq, head.hash = entry.seq, entry.hash
        session.flush()
    note_head(session, entry.seq, entry.hash, now)  # published outside the database once committed
    counted = session.info.get(METRICS_KEY)
    if isinstance(counted, CaseworkMetrics):
        counted.audit_entries.labels(action=action).inc()
    return entry.seq


def _cut(value: str | None, length: int) -> str | None:
    """Values from requests (a refused id may be any length) fit their columns: PostgreSQL would refuse them."""
    if value is None or len(value) <= length:
        return value
    return value[:length - 1] + "…"


def _entries(session: Session) -> Iterator[AuditEntry]:
    for row in session.scalars(select(AuditRecord).order_by(AuditRecord.seq).execution_options(yield_per=1000)):
        yield AuditEntry(seq=row.seq, at=row.at, user_id=row.user_id, role=row.role, action=row.action,
                         child_id=row.child_id, target=row.target, ward_code=row.ward_code, client=row.client,
                         outcome=row.outcome, detail=row.detail, prev_hash=row.prev_hash, hash=row.hash)


def verify(session: Session, anchor: AuditAnchor | None = None) -> Verification:
    head = session.get(AuditHead, 1)
    try:
        anchors = anchor.read() if anchor else None
    except AnchorUnreadable as exc:
        return Verification(False, 0, str(exc))
    return verify_chain(_entries(session), head.seq if head else 0, head.hash if head else GENESIS, anchors)


def recent(session: Session, *, limit: int = 200, action: str | None = None,
           outcome: str | None = None) -> list[AuditRecord]:
    query = select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(limit)
    if action:
        query = query.where(AuditRecord.action == action)
    if outcome:
        query = query.where(AuditRecord.outcome == outcome)
    return list(session.scalars(query))


def to_csv(session: Session) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for entry in _entries(session):
        content = entry.content()
        # Ids and details come from requests (a refused /api/children/=HYPERLINK(...) is audited as sent).
        writer.writerow(safe_row([content[c] if c != "hash" else entry.hash for c in CSV_COLUMNS]))
    return out.getvalue()
