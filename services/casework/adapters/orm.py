"""The case database: SQLAlchemy 2 tables (migrated by Alembic, never by create_all in production)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite forgets the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Child(Base):
    """A child as casework shows it: linkage's profile plus scoring's current flags.

    ``ward_code`` is the best-known ward, resolved from the profile's and the flags' wards by their own
    ``ward_since`` dates (domain/ward_order.py); ``pending_alert`` is a listing waiting for a ward.
    """

    __tablename__ = "children"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ward_code: Mapped[str | None] = mapped_column(String(8), index=True)
    profile_ward_code: Mapped[str | None] = mapped_column(String(8))
    profile_ward_since: Mapped[str | None] = mapped_column(String(32))
    profile_version: Mapped[int | None] = mapped_column(Integer)
    household_id: Mapped[str | None] = mapped_column(String(64))
    name_kanji: Mapped[str | None] = mapped_column(String(200))
    name_kana: Mapped[str | None] = mapped_column(String(200))
    birth_date: Mapped[str | None] = mapped_column(String(10))
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="resident")
    profile_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    flags_ward_code: Mapped[str | None] = mapped_column(String(8))
    flags_ward_since: Mapped[str | None] = mapped_column(String(32))
    tier: Mapped[str | None] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    current_items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    flags_as_of: Mapped[str | None] = mapped_column(String(10))
    supported_by_child_guidance: Mapped[bool] = mapped_column(Boolean, default=False)
    flags_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pending_alert: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # 行政とのつながり (issue 18): the current connection signals (SignalV1 JSON) and their codes. NULL: no flags
    # message since casework began storing them (migration 0007) — unknown, not "none".
    signals: Mapped[list[Any] | None] = mapped_column(JSON)
    current_signals: Mapped[list[Any] | None] = mapped_column(JSON)
    # Closed cases removed by the retention purge (migration 0011): the alert policy still counts them.
    alerts_purged: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Alert(Base):
    """An alert for a ward; it opens the case whose state moves through the workflow."""

    __tablename__ = "alerts"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(36), unique=True)
    alert_key: Mapped[str] = mapped_column(String(64), unique=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    ward_code: Mapped[str] = mapped_column(String(8))
    tier: Mapped[str | None] = mapped_column(String(8))
    items: Mapped[list[Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(String(32))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(32))
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lead_division: Mapped[str | None] = mapped_column(String(32))
    source_event_id: Mapped[str | None] = mapped_column(String(160))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the alert showed when it was raised: after a move the old ward sees these, not the child's current data.
    name_kanji_at_raise: Mapped[str | None] = mapped_column(String(200))
    name_kana_at_raise: Mapped[str | None] = mapped_column(String(200))
    birth_date_at_raise: Mapped[str | None] = mapped_column(String(10))
    signals_at_raise: Mapped[list[Any] | None] = mapped_column(JSON)  # signal codes; NULL before 0007

    __table_args__ = (Index("ix_alerts_ward_seq", "ward_code", "seq"),
                      Index("ix_alerts_state_changed_at", "state_changed_at"))


class CaseStep(Base):
    """One entry of a case's timeline: a person's workflow step or a system event."""

    __tablename__ = "case_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    result: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedEvent(Base):
    """Input events already applied: the database, not memory, makes replays harmless."""

    __tablename__ = "processed_events"
    event_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Events written in the same transaction as the change; the worker publishes them to Kafka."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(128))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class User(Base):
    __tablename__ = "users"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    division: Mapped[str | None] = mapped_column(String(32))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # unused since 0003 (see LoginThrottle)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # unused since 0003
    totp_secret: Mapped[str | None] = mapped_column(String(255))  # sealed (adapters/secret_box.py); enrol-totp
    totp_last_step: Mapped[int | None] = mapped_column(Integer)  # time step of the last accepted code (no reuse)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed-login back-off per (account, client) and per client: nobody can lock somebody else out.

    ``key`` is an HMAC of the kind and value under the session secret (no usernames or addresses in clear).
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class WebSession(Base):
    """Server-side sessions: the cookie holds a random token; only its hash is stored."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditRecord(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    child_id: Mapped[str | None] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(160))
    ward_code: Mapped[str | None] = mapped_column(String(8))
    client: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The last sequence number and hash, kept apart so that cutting the log's tail is detected."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class ReviewCase(Base):
    """An uncertain pair from linkage.review.v1, waiting for a person's decision."""

    __tablename__ = "review_cases"
    review_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(36))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


# --- privacy (issue 15, docs/privacy.md) -----------------------------------------------------------------------
class PrivacyKey(Base):
    """The key register: one random HMAC key per masked extract (削除情報等, APPI 第41条第2項).

    Destroying a key sets ``key_hex`` to NULL: the extract's pseudonyms can then never be linked back.
    """

    __tablename__ = "privacy_keys"
    key_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_hex: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    destroyed_by: Mapped[str | None] = mapped_column(String(36))


class PrivacyExtract(Base):
    """The extract register: who produced which masked extract, when, for what, with which fields and counts."""

    __tablename__ = "privacy_extracts"
    extract_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(36))
    created_by_role: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(Text)
    period_from: Mapped[str] = mapped_column(String(10))
    period_to: Mapped[str] = mapped_column(String(10))
    key_id: Mapped[str] = mapped_column(ForeignKey("privacy_keys.key_id"))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    row_counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    k_report: Mapped[dict[str, Any]] = mapped_column(JSON)
    files: Mapped[dict[str, Any]] = mapped_column(JSON)  # file name → sha256
    recipient: Mapped[str | None] = mapped_column(String(200))
    deletion_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PrivacyExtractSubject(Base):
    """Which pseudonyms an extract holds (no child id): lets a deletion request list the extracts to recall."""

    __tablename__ = "privacy_extract_subjects"
    extract_id: Mapped[str] = mapped_column(ForeignKey("privacy_extracts.extract_id"), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(32), primary_key=True)


class PrivacyOptOut(Base):
    """利用停止 (APPI 第35条): the child is excluded from screening while ``active``; reversible."""

    __tablename__ = "privacy_opt_outs"
    child_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    requested_by: Mapped[str] = mapped_column(String(16))  # 本人 / 保護者 / 法定代理人
    reason: Mapped[str] = mapped_column(String(500))
    requested_on: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(36))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(36))
    # The household whose standing opt-out covers the child (a guardian's --household request), else NULL
    via_household: Mapped[str | None] = mapped_column(String(64), index=True)


class PrivacyHouseholdOptOut(Base):
    """A guardian's standing 利用停止 for a household (``opt-out --household``): it covers the household's children
    then, and every child casework later learns is in the household, until withdrawn (docs/privacy.md)."""

    __tablename__ = "privacy_household_opt_outs"
    household_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    requested_by: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    requested_on: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(36))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[str | None] = mapped_column(String(36))


class PrivacyDeletion(Base):
    """A completed deletion request: what was removed per store and which handed-over extracts held the person.

    Holds no child id, name or other content of the deleted data (the audit trail names the child id once)."""

    __tablename__ = "privacy_deletions"
    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    # SHA-256 of the child id (domain/pseudonym.forgotten_hash): the worker drops late messages for the child
    subject_hash: Mapped[str] = mapped_column(String(64), index=True)
    done_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_by: Mapped[str] = mapped_column(String(36))
    removed: Mapped[dict[str, Any]] = mapped_column(JSON)  # store → rows removed
    extracts: Mapped[list[Any]] = mapped_column(JSON)  # [{extract_id, pseudonym | null, key_destroyed}]



class PrivacyDisclosureRequest(Base):
    """A disclosure (開示) request: casework asked linkage and scoring on privacy.disclosures.v1 what they hold about
    the child; their answers arrive as ``PrivacyDisclosureReply`` rows. ``deleted`` marks a request about a child
    deleted on request before (casework holds nothing; the services are asked whether they still do)."""

    __tablename__ = "privacy_disclosure_requests"
    request_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    child_id: Mapped[str] = mapped_column(String(64), index=True)
    request_ref: Mapped[str] = mapped_column(String(64))  # 受付番号
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    requested_by: Mapped[str] = mapped_column(String(36))
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)  # answers expected by then, else the part is missing
    services: Mapped[list[Any]] = mapped_column(JSON)  # who was asked
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)


class PrivacyDisclosureReply(Base):
    """One service's answer to a disclosure request (DisclosureReplyV1 as received: facts and entries)."""

    __tablename__ = "privacy_disclosure_replies"
    request_id: Mapped[str] = mapped_column(ForeignKey("privacy_disclosure_requests.request_id"), primary_key=True)
    service: Mapped[str] = mapped_column(String(16), primary_key=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    held: Mapped[bool] = mapped_column(Boolean)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


# 利用者アンケート (issue 16) and データの鮮度 (issue 17): their tables live in orm_survey.py and orm_freshness.py,
# registered on the same Base here.
from services.casework.adapters.orm_freshness import SourceStatusRow as SourceStatusRow  # noqa: E402
from services.casework.adapters.orm_reports import EvaluationReportRow as EvaluationReportRow  # noqa: E402
from services.casework.adapters.orm_survey import SurveyAnswer as SurveyAnswer  # noqa: E402
from services.casework.adapters.orm_survey import SurveyRound as SurveyRound  # noqa: E402
