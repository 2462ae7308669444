"""The unit of work over SQLAlchemy: one session, one transaction (service_layer/unit_of_work.py's port)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from services.casework.adapters.orm import (
    OutboxMessage,
    PrivacyDisclosureReply,
    PrivacyDisclosureRequest,
    ReviewCase,
)
from services.casework.adapters.repository import SqlCaseRepository
from services.casework.domain.freshness import SourceHeard
from services.casework.domain.reports import ReportDocument
from services.casework.service_layer.ports import ReportStore, SourceStatusStore
from services.casework.service_layer.unit_of_work import AbstractUnitOfWork, Conflict, OutboxEntry


class SqlReviewRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, review_id: str) -> ReviewCase | None:
        return self.session.get(ReviewCase, review_id)

    def add(self, review_id: str, payload: dict[str, Any], received_at: datetime) -> None:
        self.session.add(ReviewCase(review_id=review_id, payload=payload, received_at=received_at, status="open"))

    def open(self, limit: int) -> list[ReviewCase]:
        return list(self.session.scalars(select(ReviewCase).where(ReviewCase.status == "open")
                                         .order_by(ReviewCase.received_at).limit(limit)))


# The key of the transaction-level advisory lock that serialises the relays of every casework worker sharing one
# PostgreSQL database (any constant; "tsunagu-outbox" as a number).
RELAY_LOCK_KEY = 0x7473_6F75_7462_6F78
RELAY_LOCK_TIMEOUT = "10s"  # a relay stuck in its round (a stopped process) does not stop the others for ever


class OutboxClaimTimeout(Exception):
    """The outbox stayed claimed by another relay past ``RELAY_LOCK_TIMEOUT`` (a worker stuck in its round)."""


class SqlOutboxRelay:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self) -> None:
        # PostgreSQL: the lock is held to this transaction's end (after mark_published and the commit), so a second
        # worker's relay waits for the first's round and then reads what is still unpublished: no row is sent by
        # two relays (before, 25–186 alert ids went out twice with 2–3 instances). SQLite has one writer anyway.
        if self.session.get_bind().dialect.name == "postgresql":
            self.session.execute(text(f"SET LOCAL lock_timeout = '{RELAY_LOCK_TIMEOUT}'"))
            try:
                self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RELAY_LOCK_KEY})
            except OperationalError as exc:  # lock_timeout: the relay logs this and tries again next round
                raise OutboxClaimTimeout(f"another worker's outbox relay held its round for over "
                                         f"{RELAY_LOCK_TIMEOUT}") from exc

    def pending(self, limit: int) -> list[OutboxEntry]:
        rows = [OutboxEntry(m.id, m.topic, m.key, m.payload) for m in self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None)).order_by(OutboxMessage.id)
            .limit(limit))]
        if self.session.get_bind().dialect.name != "postgresql":
            # SQLite takes the file's write lock at BEGIN (adapters/db.py): not held across the relay's send, which
            # would hold up the web process's writes; one worker per SQLite file, so there is nothing to serialise.
            self.session.commit()
        return rows

    def mark_published(self, ids: list[int], at: datetime) -> None:
        self.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=at))


class SqlDisclosureRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def request(self, request_id: str) -> PrivacyDisclosureRequest | None:
        return self.session.get(PrivacyDisclosureRequest, request_id)

    def has_reply(self, request_id: str, service: str) -> bool:
        return self.session.get(PrivacyDisclosureReply, (request_id, service)) is not None

    def add_reply(self, request_id: str, service: str, *, answered_at: datetime, held: bool,
                  payload: dict[str, Any], received_at: datetime) -> None:
        self.session.add(PrivacyDisclosureReply(request_id=request_id, service=service, answered_at=answered_at,
                                                held=held, payload=payload, received_at=received_at))


class _SessionSourceStatus:
    """The source-status store (adapters/source_status.py) bound to this unit of work's session."""

    def __init__(self, store: SourceStatusStore, session: Session) -> None:
        self.store, self.session = store, session

    def save(self, heard: SourceHeard) -> None:
        self.store.save(self.session, heard)


class _SessionReports:
    """The report store (adapters/report_store.py) bound to this unit of work's session."""

    def __init__(self, store: ReportStore, session: Session) -> None:
        self.store, self.session = store, session

    def save(self, document: ReportDocument, received_at: datetime) -> bool:
        return self.store.save(self.session, document, received_at)


class SqlUnitOfWork(AbstractUnitOfWork):
    """``session`` is open for the ``with`` block; the entrypoints use it for what has no port yet (the audit trail,
    in the same transaction as the step it records)."""

    session: Session

    def __init__(self, sessions: sessionmaker[Session], source_status: SourceStatusStore,
                 reports: ReportStore) -> None:
        self._sessions, self._source_status, self._reports = sessions, source_status, reports

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.cases: SqlCaseRepository = SqlCaseRepository(self.session)
        self.reviews = SqlReviewRepository(self.session)
        self.outbox = SqlOutboxRelay(self.session)
        self.source_status = _SessionSourceStatus(self._source_status, self.session)
        self.reports = _SessionReports(self._reports, self.session)
        self.disclosures = SqlDisclosureRepository(self.session)
        super().__enter__()
        return self

    def __exit__(self, *args: object) -> None:
        super().__exit__(*args)
        self.session.close()

    def preload(self, child_ids: Collection[str] = (), event_keys: Collection[str] = ()) -> None:
        # One flush at commit: the batch's reads never flush its half-made rows (and run faster).
        self.session.autoflush = False
        super().preload(child_ids, event_keys)

    def commit(self) -> None:
        try:
            self.cases.write_appended()
            self.session.commit()
        except IntegrityError as exc:
            raise Conflict("concurrent write of the same row") from exc

    def rollback(self) -> None:
        self.session.rollback()
