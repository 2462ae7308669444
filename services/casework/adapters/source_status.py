"""Stores and loads データの鮮度 (domain/freshness.py) in the ``source_status`` table."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import SourceStatusRow
from services.casework.domain.freshness import SourceHeard, merged


def _heard(row: SourceStatusRow) -> SourceHeard:
    return SourceHeard(system=row.system, last_event_at=row.last_event_at, events_24h=row.events_24h,
                       counted_since=row.counted_since, silence_allowed_s=row.silence_allowed_s,
                       reported_at=row.reported_at)


class SqlSourceStatusStore:
    """Satisfies service_layer/ports.py's SourceStatusStore."""

    def save(self, session: Session, heard: SourceHeard) -> None:
        row = session.get(SourceStatusRow, heard.system)
        keep = merged(_heard(row) if row is not None else None, heard)
        if row is None:
            row = SourceStatusRow(system=heard.system)
            session.add(row)
        row.last_event_at, row.events_24h, row.counted_since = keep.last_event_at, keep.events_24h, keep.counted_since
        row.silence_allowed_s, row.reported_at = keep.silence_allowed_s, keep.reported_at

    def load(self, session: Session) -> list[SourceHeard]:
        return [_heard(row) for row in session.scalars(select(SourceStatusRow).order_by(SourceStatusRow.system))]
