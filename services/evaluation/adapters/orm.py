"""Evaluation's own store: listings, workflow steps and each child's current flags, by pseudonymous id.

The store is a projection of casework.alerts.v1, casework.outcomes.v1, scoring.flags.v1 and the privacy topics
(privacy.deletions.v1, privacy.optouts.v1) and can be rebuilt by replaying them; it holds no name, address or birth
date. Times are stored as naive UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.evaluation.domain.stored import items_of as items_of  # items are stored as "3,17,18"
from services.evaluation.domain.stored import items_text as items_text


class Base(DeclarativeBase):
    pass


class ProcessedEvent(Base):
    __tablename__ = "eval_processed_events"
    event_id: Mapped[str] = mapped_column(String(200), primary_key=True)  # "<kind>:<CloudEvents id>"


class CaseRow(Base):
    __tablename__ = "eval_cases"
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    ward_code: Mapped[str] = mapped_column(String(8), index=True)
    listed_at: Mapped[datetime | None] = mapped_column(DateTime)  # None until the alert itself arrives
    tier: Mapped[str | None] = mapped_column(String(8))
    items: Mapped[str] = mapped_column(String(80))  # "3,17,18"
    reason: Mapped[str | None] = mapped_column(String(32))


class StepRow(Base):
    __tablename__ = "eval_steps"
    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32))
    result: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("ix_eval_steps_case", "case_id"),)


class ChildRow(Base):
    __tablename__ = "eval_children"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    tier: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    items: Mapped[str] = mapped_column(String(80), default="")
    ever_items: Mapped[str] = mapped_column(String(80), default="")
    as_of: Mapped[str] = mapped_column(String(10))
    event_time: Mapped[datetime] = mapped_column(DateTime)
    weights_version: Mapped[str] = mapped_column(String(64))
    supported_by_child_guidance: Mapped[bool] = mapped_column(Boolean, default=False)


class ChildSignalsRow(Base):
    """The child's current connection signals (行政とのつながり, codes "moved_in,unenrolled"), from the same newest
    assessment as its ChildRow: a table of its own, so a store made before signals gains it by ``create_all``."""

    __tablename__ = "eval_child_signals"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    signals: Mapped[str] = mapped_column(String(200), default="")


class DeletedChild(Base):
    """A child deleted on request (privacy.deletions.v1): only a SHA-256 of its id, so later messages about it are
    dropped instead of bringing it back (service_layer/privacy.py)."""

    __tablename__ = "eval_deleted_children"
    child_hash: Mapped[str] = mapped_column(String(64), primary_key=True)


class OptOutRow(Base):
    """A child's opt-out (利用停止) as casework last published it on privacy.optouts.v1 (service_layer/privacy.py).
    While ``active`` the child's rows are kept but left out of every figure; ``changed_at`` orders the messages."""

    __tablename__ = "eval_opt_outs"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = mapped_column(DateTime)  # naive UTC


class ScheduledReportRow(Base):
    """A report the service produces by itself (service_layer/scheduled.py), claimed by one instance at a time and
    marked done once published, so that a period's report goes out once across restarts and instances."""

    __tablename__ = "eval_scheduled_reports"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # "weekly:2026-11-02", "period:<first>..<last>"
    owner: Mapped[str] = mapped_column(String(120))  # host:pid of the instance that claimed it
    claimed_at: Mapped[datetime] = mapped_column(DateTime)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
