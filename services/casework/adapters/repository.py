"""Reads and writes of the case database, in the domain's words (service_layer/unit_of_work.py's CaseRepository).

The caller owns the transaction (adapters/unit_of_work.py)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.orm import Session

from services.casework.adapters.orm import (
    Alert,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDeletion,
    PrivacyHouseholdOptOut,
    PrivacyOptOut,
    ProcessedEvent,
)
from services.casework.domain.pseudonym import forgotten_hash
from services.casework.domain.workflow import OPEN_STATES
from services.casework.service_layer import audit_log
from services.casework.service_layer.unit_of_work import ChildRecord, NewAlert, NewOptOut, NewStep

SYSTEM_AUDIT_ACTOR = audit_log.Actor("system", "system", "worker")
CHILDREN = cast(Table, Child.__table__)
CHILD_COLUMNS = tuple(column.key for column in CHILDREN.columns)


class BatchChild:
    """A child's row as the worker's batch reads and writes it: plain attributes read with Core, written at commit
    with one executemany per set of changed columns (``SqlCaseRepository.write_children``). The ORM's identity map,
    instrumented attributes and flush were half the worker's batch (docs/scaling.md); this writes what the ORM would
    have written: for a stored child the columns assigned a different value, for a new one the columns assigned
    (a JSON column assigned None holds JSON null, one never assigned SQL NULL, as with the ORM). As with the ORM's
    JSON columns, only assignment counts, not a change made in place."""

    __slots__ = (*CHILD_COLUMNS, "_stored", "_was")
    child_id: str
    _stored: bool  # the row is in the database (read by the batch, or written by its commit)
    _was: dict[str, Any]  # column → its value before the batch's first assignment

    def __init__(self, stored: Mapping[str, Any] | RowMapping | None = None, **assigned: Any) -> None:
        for name in CHILD_COLUMNS:
            object.__setattr__(self, name, None if stored is None else stored[name])
        object.__setattr__(self, "_stored", stored is not None)
        object.__setattr__(self, "_was", {})
        for name, value in assigned.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._was:
            self._was[name] = getattr(self, name)
        object.__setattr__(self, name, value)

    def row_changes(self) -> dict[str, Any]:
        """The columns to write: all assigned ones for a new child, the changed ones for a stored child."""
        if not self._stored:
            return {name: getattr(self, name) for name in self._was}
        return {name: now for name, was in self._was.items() if (now := getattr(self, name)) != was}


class SqlCaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # Filled by preload() for a batch of messages: three queries instead of several per message,
        # and one flush at commit (the caller runs the batch under no_autoflush).
        self._preloaded = False
        self._processed: set[str] = set()
        self._children: dict[str, BatchChild] = {}
        self._alerts: dict[str, list[Alert]] = {}
        self._opted_out: set[str] = set()  # privacy (docs/privacy.md): 利用停止 and deleted children in the batch
        self._forgotten: set[str] = set()
        self._households_out: dict[str, PrivacyHouseholdOptOut] | None = None  # standing household opt-outs
        # In a preloaded batch, append-only rows are written with one executemany per table at the end.
        self._bulk: dict[type, list[dict[str, Any]]] = {ProcessedEvent: [], CaseStep: [], OutboxMessage: []}

    def preload(self, child_ids: Collection[str], event_keys: Collection[str]) -> None:
        # Core statements on the session's connection (same transaction): the rows are read, not mapped.
        ids, keys = list(set(child_ids)), list(set(event_keys))
        read = self.session.connection().execute
        processed = ProcessedEvent.__table__.c
        self._processed = set(read(select(processed.event_key).where(processed.event_key.in_(keys))).scalars()) \
            if keys else set()
        self._children = {row["child_id"]: BatchChild(row) for row in read(
            select(CHILDREN).where(CHILDREN.c.child_id.in_(ids))).mappings()} if ids else {}
        self._alerts = {child_id: [] for child_id in ids}
        if ids:
            for alert in self.session.scalars(select(Alert).where(Alert.child_id.in_(ids)).order_by(Alert.seq)):
                self._alerts[alert.child_id].append(alert)
            opt_outs = PrivacyOptOut.__table__.c
            self._opted_out = set(read(select(opt_outs.child_id).where(
                opt_outs.child_id.in_(ids), opt_outs.active.is_(True))).scalars())
            hashes = {forgotten_hash(i): i for i in ids}
            deleted = PrivacyDeletion.__table__.c.subject_hash
            self._forgotten = {hashes[h] for h in read(select(deleted).where(deleted.in_(list(hashes)))).scalars()}
        self._preloaded = True

    # --- privacy ---------------------------------------------------------------------------------
    def opted_out(self, child_id: str) -> bool:
        """利用停止: no alert is raised for the child while this holds."""
        if self._preloaded and child_id in self._alerts:
            return child_id in self._opted_out
        row = self.session.get(PrivacyOptOut, child_id)
        return row is not None and row.active

    def household_opt_out(self, household_id: str) -> PrivacyHouseholdOptOut | None:
        if self._preloaded:  # a handful of rows at most: read once per batch, not once per profile message
            if self._households_out is None:
                self._households_out = {r.household_id: r for r in self.session.scalars(
                    select(PrivacyHouseholdOptOut).where(PrivacyHouseholdOptOut.active.is_(True)))}
            return self._households_out.get(household_id)
        row = self.session.get(PrivacyHouseholdOptOut, household_id)
        return row if row is not None and row.active else None

    def opt_out_of(self, child_id: str) -> PrivacyOptOut | None:
        return self.session.get(PrivacyOptOut, child_id)

    def add_opt_out(self, new: NewOptOut) -> None:
        row = self.session.get(PrivacyOptOut, new.child_id)
        if row is None:
            row = PrivacyOptOut(child_id=new.child_id)
            self.session.add(row)
        row.active, row.requested_by, row.reason, row.requested_on = True, new.requested_by, new.reason, \
            new.requested_on
        row.recorded_at, row.recorded_by, row.via_household = new.recorded_at, new.recorded_by, new.via_household
        row.withdrawn_at, row.withdrawn_by = None, None
        self._opted_out.add(new.child_id)

    def audit(self, action: str, at: datetime, *, child_id: str, ward_code: str | None, detail: str) -> None:
        audit_log.append(self.session, SYSTEM_AUDIT_ACTOR, action, at, child_id=child_id, ward_code=ward_code,
                         detail=detail)

    def forgotten(self, child_id: str) -> bool:
        """The child's data was deleted on request: late messages about the child are dropped, not re-stored."""
        if self._preloaded and child_id in self._alerts:
            return child_id in self._forgotten
        return self.session.scalars(select(PrivacyDeletion.request_id).where(
            PrivacyDeletion.subject_hash == forgotten_hash(child_id)).limit(1)).first() is not None

    # --- idempotency -----------------------------------------------------------------------------
    def already_processed(self, event_key: str) -> bool:
        if self._preloaded:
            return event_key in self._processed
        return self.session.get(ProcessedEvent, event_key) is not None

    def mark_processed(self, event_key: str, at: datetime) -> None:
        self._processed.add(event_key)
        self._append(ProcessedEvent, {"event_key": event_key, "processed_at": at})

    def _append(self, table: type, row: dict[str, Any]) -> None:
        if self._preloaded:
            self._bulk[table].append(row)
        else:
            self.session.add(table(**row))

    def write_appended(self) -> None:
        """Writes the batch's children and append-only rows (after the alerts they refer to), one executemany
        per table and shape."""
        self.session.flush()
        connection = self.session.connection()
        self.write_children(connection)
        for table in (ProcessedEvent, CaseStep, OutboxMessage):
            rows, self._bulk[table] = self._bulk[table], []
            if rows:
                connection.execute(insert(cast(Table, table.__table__)), rows)

    def write_children(self, connection: Connection) -> None:
        inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for child in self._children.values():
            changes = child.row_changes()
            if changes:
                (updates if child._stored else inserts).setdefault(tuple(sorted(changes)), []).append(changes)
                if child._stored:
                    changes["_child_id"] = child.child_id
            object.__setattr__(child, "_stored", True)
            object.__setattr__(child, "_was", {})
        for rows in inserts.values():
            connection.execute(insert(CHILDREN), rows)
        for rows in updates.values():
            connection.execute(update(CHILDREN).where(CHILDREN.c.child_id == bindparam("_child_id")), rows)

    # --- children --------------------------------------------------------------------------------
    def child(self, child_id: str) -> ChildRecord | None:
        if self._preloaded and child_id in self._alerts:
            return cast(ChildRecord | None, self._children.get(child_id))
        return self.session.get(Child, child_id)

    def child_or_new(self, child_id: str) -> ChildRecord:
        child = self.child(child_id)
        if child is None:
            new: dict[str, Any] = {"child_id": child_id, "current_items": [], "flags": [], "score": 0.0,
                                   "status": "resident", "supported_by_child_guidance": False, "alerts_purged": 0}
            if self._preloaded and child_id in self._alerts:  # written with the batch's children at commit
                self._children[child_id] = BatchChild(**new)
                return cast(ChildRecord, self._children[child_id])
            child = Child(**new)
            self.session.add(child)
        return child

    def held_children(self) -> list[Child]:
        # A listing once held and then raised is stored as JSON null, not SQL NULL (the JSON type's default).
        rows = self.session.scalars(select(Child).where(Child.pending_alert.is_not(None)))
        return [child for child in rows if child.pending_alert]

    # --- alerts and cases ------------------------------------------------------------------------
    def open_alert(self, child_id: str) -> Alert | None:
        if self._preloaded and child_id in self._alerts:
            open_states = {s.value for s in OPEN_STATES}
            return next((a for a in reversed(self._alerts[child_id]) if a.state in open_states), None)
        return self.session.scalars(
            select(Alert).where(Alert.child_id == child_id, Alert.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Alert.seq.desc()).limit(1)
        ).first()

    def alert(self, alert_id: str) -> Alert | None:
        for alerts in self._alerts.values():
            for alert in alerts:
                if alert.alert_id == alert_id:
                    return alert
        return self.session.scalars(select(Alert).where(Alert.alert_id == alert_id)).first()

    def add_alert(self, new: NewAlert) -> Alert | None:
        """Inserts the alert unless one with the same key exists; returns None for a duplicate."""
        if self._preloaded and new.child_id in self._alerts:
            if any(a.alert_key == new.alert_key for a in self._alerts[new.child_id]):
                return None
        elif self.session.scalars(select(Alert.seq).where(Alert.alert_key == new.alert_key)).first():
            return None
        alert = Alert(**asdict(new), state_changed_at=new.raised_at)
        # A concurrent insert of the same key fails the whole transaction on the unique constraint;
        # the worker retries it and then sees the duplicate above (no savepoint on the hot path).
        self.session.add(alert)
        if new.child_id in self._alerts:
            self._alerts[new.child_id].append(alert)
        return alert

    def add_step(self, step: NewStep) -> None:
        self._append(CaseStep, asdict(step))

    def steps(self, alert_ids: Sequence[str]) -> list[CaseStep]:
        if not alert_ids:
            return []
        return list(self.session.scalars(
            select(CaseStep).where(CaseStep.alert_id.in_(alert_ids)).order_by(CaseStep.at, CaseStep.id)))

    def alerts_of_child(self, child_id: str) -> list[Alert]:
        if self._preloaded and child_id in self._alerts:
            return list(self._alerts[child_id])
        return list(self.session.scalars(select(Alert).where(Alert.child_id == child_id).order_by(Alert.seq)))

    def max_alert_seq(self) -> int:
        return int(self.session.scalar(select(func.coalesce(func.max(Alert.seq), 0))) or 0)

    # --- outbox ----------------------------------------------------------------------------------
    def add_outbox(self, topic: str, key: str, payload: str, at: datetime) -> None:
        self._append(OutboxMessage, {"topic": topic, "key": key, "payload": payload, "created_at": at})
