"""The worker's real intake path (decode, preload, handle_flags / handle_profile, one transaction per batch)
on an in-memory SQLite database, for tests that feed messages in many orders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from contracts.envelope import Envelope
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.adapters.orm import Alert, Base, CaseStep
from services.casework.adapters.report_store import SqlReportStore
from services.casework.adapters.source_status import SqlSourceStatusStore
from services.casework.adapters.unit_of_work import SqlUnitOfWork
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.service_layer.intake import handle_flags, handle_profile

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
Message = tuple[str, dict[str, Any]]  # ("flags" | "profile", CloudEvents envelope as a dict)
AlertFacts = tuple[str, str, str, str | None, tuple[int, ...], str]  # id, child, ward, tier, items, reason


class Intake:
    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.engine = create_engine("sqlite://", poolclass=StaticPool)
        Base.metadata.create_all(self.engine)
        self.policy = policy or AlertPolicy()
        self.outcomes: list[str] = []

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(sessionmaker(bind=self.engine, expire_on_commit=False), SqlSourceStatusStore(),
                             SqlReportStore())

    def close(self) -> None:
        self.engine.dispose()

    def apply(self, messages: Sequence[Message]) -> list[str]:
        """One batch, as the worker applies it (all of one kind per batch, like one agent's batch)."""
        outcomes = []
        for kind in ("flags", "profile"):
            batch = [m for k, m in messages if k == kind]
            if not batch:
                continue
            events = [Envelope[ChildFlagsV1 if kind == "flags" else ChildProfileV1].model_validate_json(  # type: ignore[misc]
                json.dumps(m, ensure_ascii=False)) for m in batch]
            with self.uow() as uow:
                uow.preload([e.data.child_id for e in events], [f"{kind}:{e.id}" for e in events])
                for event in events:
                    handler = handle_flags if kind == "flags" else handle_profile
                    result = handler(event, event_key=f"{kind}:{event.id}", uow=uow,  # type: ignore[arg-type]
                                     policy=self.policy, now=NOW)
                    outcomes.append(result.outcome)
                uow.commit()
        self.outcomes += outcomes
        return outcomes

    def run(self, messages: Sequence[Message], batch_sizes: Sequence[int] = ()) -> None:
        """Applies messages in order, in batches of the given sizes (then one by one)."""
        i = 0
        for size in batch_sizes:
            kind = messages[i][0] if i < len(messages) else ""
            chunk = []
            while i < len(messages) and len(chunk) < size and messages[i][0] == kind:
                chunk.append(messages[i])
                i += 1
            if chunk:
                self.apply(chunk)
        while i < len(messages):
            self.apply([messages[i]])
            i += 1

    def alerts(self) -> list[Alert]:
        with Session(self.engine) as session:
            return list(session.scalars(select(Alert).order_by(Alert.seq)))

    def alert_facts(self) -> list[AlertFacts]:
        return sorted((a.alert_id, a.child_id, a.ward_code, a.tier, tuple(a.items), a.reason) for a in self.alerts())

    def steps(self, action: str) -> list[CaseStep]:
        with Session(self.engine) as session:
            return list(session.scalars(select(CaseStep).where(CaseStep.action == action)))
