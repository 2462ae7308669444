"""データの鮮度 (issue 17): the newest report per source system from ingest.source_status.v1.

Imported by ``orm.py`` so that the table is on its ``Base`` (migration 0008_source_status). No personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.casework.adapters.orm import Base, UTCDateTime


class SourceStatusRow(Base):
    __tablename__ = "source_status"
    system: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    events_24h: Mapped[int] = mapped_column(Integer, default=0)
    counted_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    silence_allowed_s: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
