"""The unit of work over SQLAlchemy: one session, one transaction (service_layer/unit_of_work.py's port)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from services.evaluation.adapters.repository import SqlEvaluationRepository
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork


class SqlUnitOfWork(AbstractUnitOfWork):
    session: Session

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._sessions()
        self.store = SqlEvaluationRepository(self.session)
        super().__enter__()
        return self

    def __exit__(self, *args: object) -> None:
        super().__exit__(*args)
        self.session.close()

    def flush(self) -> None:
        self.session.flush()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
