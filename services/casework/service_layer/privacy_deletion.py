"""Deletion on request (削除): remove a child's data from every casework store, keep the audit trail (which
records the deletion, not the deleted content), list the handed-over extracts that hold the child, and publish
``privacy.deletions.v1`` (through the outbox) so linkage and scoring forget the child too."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, delete, not_, or_, select
from sqlalchemy.orm import Session

from contracts.envelope import envelope_dict
from contracts.topics.privacy_deletions import EVENT_TYPE, TOPIC, DeletionRequestV1
from contracts.topics.privacy_disclosures import REQUEST_TOPIC as DISCLOSURES
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.casework.adapters.orm import (
    Alert,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDeletion,
    PrivacyDisclosureReply,
    PrivacyDisclosureRequest,
    PrivacyExtract,
    PrivacyExtractSubject,
    PrivacyKey,
    PrivacyOptOut,
    ReviewCase,
)
from services.casework.domain.access import Permission
from services.casework.domain.pseudonym import forgotten_hash, pseudonym
from services.casework.service_layer import audit_log
from services.casework.service_layer.intake import SOURCE
from services.casework.service_layer.ports import Casework
from services.casework.service_layer.privacy_requests import Refused, refuse_audited, requester, stated

REQUESTERS = ("本人", "保護者", "法定代理人")
TOMBSTONE = ""  # an outbox payload published as a null value (a compacted topic's tombstone)
# Confirms a plan (rows per store, extracts holding the child) before anything is deleted.
Confirm = Callable[[dict[str, int], list[dict[str, Any]]], bool]


@dataclass(frozen=True)
class DeletionResult:
    request_id: str
    removed: dict[str, int]
    extracts: list[dict[str, Any]]


def plan(session: Session, child_id: str) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """What a deletion would remove, per store, and which registered extracts hold the child."""
    alert_ids = list(session.scalars(select(Alert.alert_id).where(Alert.child_id == child_id)))
    counts = {
        "children": 1 if session.get(Child, child_id) is not None else 0,
        "alerts": len(alert_ids),
        "case_steps": len(_ids(session, CaseStep.id, CaseStep.alert_id.in_(alert_ids))) if alert_ids else 0,
        "outbox": len(_ids(session, OutboxMessage.id, _outbox_of(child_id, alert_ids))),
        "review_cases": len(_reviews(session, child_id)),
        "privacy_opt_outs": 1 if session.get(PrivacyOptOut, child_id) is not None else 0,
        # 開示 requests made while casework held the child, with the answers kept (those made after a deletion, about
        # the deleted child, are the record of that request and hold no more than the services answered then)
        "privacy_disclosures": len(_ids(session, PrivacyDisclosureRequest.request_id, and_(
            PrivacyDisclosureRequest.child_id == child_id, not_(PrivacyDisclosureRequest.deleted)))),
    }
    extracts = []
    for extract in session.scalars(select(PrivacyExtract).order_by(PrivacyExtract.created_at)):
        key = session.get(PrivacyKey, extract.key_id)
        entry: dict[str, Any] = {"extract_id": extract.extract_id, "recipient": extract.recipient,
                                 "partner_deleted": extract.deletion_confirmed_at is not None}
        if key is None or key.key_hex is None:
            extracts.append({**entry, "pseudonym": None, "key_destroyed": True})
            continue
        pid = pseudonym(bytes.fromhex(key.key_hex), "child", child_id)
        if session.get(PrivacyExtractSubject, (extract.extract_id, pid)) is not None:
            extracts.append({**entry, "pseudonym": pid, "key_destroyed": False})
    counts["privacy_extract_subjects"] = sum(1 for e in extracts if e["pseudonym"])
    return counts, extracts


def _ids(session: Session, column: Any, where: Any) -> list[Any]:
    return list(session.scalars(select(column).where(where)))


def _outbox_of(child_id: str, alert_ids: list[str]) -> Any:
    """The child's queued and published events (alerts, outcomes, opt-outs), not what an earlier deletion queued
    (its request, its opt-out tombstone): those are the deletion's own record."""
    mine = or_(OutboxMessage.key == child_id, OutboxMessage.key.in_(alert_ids)) if alert_ids else \
        OutboxMessage.key == child_id
    tombstone = and_(OutboxMessage.topic.like(f"%{OPTOUTS.name}"), OutboxMessage.payload == TOMBSTONE)
    return and_(mine, OutboxMessage.topic.notlike(f"%{TOPIC.name}"),
                OutboxMessage.topic.notlike(f"%{DISCLOSURES.name}"), not_(tombstone))


def _reviews(session: Session, child_id: str) -> list[str]:
    return [r.review_id for r in session.scalars(select(ReviewCase))
            if (r.payload or {}).get("candidate_person_id") == child_id]


def delete_person(c: Casework, *, username: str, child_id: str, requested_by: str | None, request_ref: str | None,
                  confirm: Confirm) -> DeletionResult:
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions() as session:
            req = requester(session, username, Permission.DELETE_PERSON)
            ref = stated(request_ref, "受付番号", "no_request_ref", minimum=1, maximum=64)
            if requested_by not in REQUESTERS:
                raise Refused("bad_requester", f"請求者は {'・'.join(REQUESTERS)} のいずれかです")
            counts, extracts = plan(session, child_id)
        if not any(counts.values()):
            raise Refused("unknown_person", "該当する児童の記録はありません (no such person in casework)")
        if not confirm(counts, extracts):
            raise Refused("not_confirmed", "削除は確認されなかったため実行していません (not confirmed)")
    except Refused as exc:
        refuse_audited(c.sessions, username, "delete_person", exc, now, child_id=child_id[:64] or None)
        raise
    request_id = str(uuid.uuid4())
    with c.sessions.begin() as session:
        counts, extracts = plan(session, child_id)  # again, inside the transaction that deletes
        alert_ids = list(session.scalars(select(Alert.alert_id).where(Alert.child_id == child_id)))
        if alert_ids:
            session.execute(delete(CaseStep).where(CaseStep.alert_id.in_(alert_ids)))
        session.execute(delete(OutboxMessage).where(_outbox_of(child_id, alert_ids)))
        session.execute(delete(Alert).where(Alert.child_id == child_id))
        session.execute(delete(Child).where(Child.child_id == child_id))
        if session.get(PrivacyOptOut, child_id) is not None:  # privacy.optouts.v1 (compacted) forgets it too
            session.add(OutboxMessage(topic=c.settings.topic(OPTOUTS.name), key=child_id, created_at=now,
                                      payload=TOMBSTONE))
        session.execute(delete(PrivacyOptOut).where(PrivacyOptOut.child_id == child_id))
        disclosures = _ids(session, PrivacyDisclosureRequest.request_id, and_(
            PrivacyDisclosureRequest.child_id == child_id, not_(PrivacyDisclosureRequest.deleted)))
        if disclosures:  # the answers hold what linkage and scoring said about the child; the requests, its id
            session.execute(delete(PrivacyDisclosureReply).where(PrivacyDisclosureReply.request_id.in_(disclosures)))
            session.execute(delete(PrivacyDisclosureRequest).where(
                PrivacyDisclosureRequest.request_id.in_(disclosures)))
            session.execute(delete(OutboxMessage).where(OutboxMessage.key == child_id,
                                                        OutboxMessage.topic.like(f"%{DISCLOSURES.name}")))
        reviews = _reviews(session, child_id)
        if reviews:
            session.execute(delete(ReviewCase).where(ReviewCase.review_id.in_(reviews)))
        for e in extracts:
            if e["pseudonym"]:
                session.execute(delete(PrivacyExtractSubject).where(
                    PrivacyExtractSubject.extract_id == e["extract_id"],
                    PrivacyExtractSubject.pseudonym == e["pseudonym"]))
        session.add(PrivacyDeletion(request_id=request_id, subject_hash=forgotten_hash(child_id), done_at=now,
                                    done_by=req.principal.user_id, removed=counts, extracts=extracts))
        event = DeletionRequestV1(request_id=request_id, child_id=child_id, requested_by=requested_by,
                                  requested_at=now.isoformat())
        session.add(OutboxMessage(topic=c.settings.topic(TOPIC.name), key=child_id, created_at=now,
                                  payload=json.dumps(envelope_dict(
                                      data=event, type_=EVENT_TYPE, source=SOURCE, subject=child_id,
                                      event_id=request_id, time=now), ensure_ascii=False)))
        removed = " ".join(f"{k}={v}" for k, v in counts.items())
        audit_log.append(session, req.actor, "delete_person", now, child_id=child_id, target=request_id,
                         detail=f"ref={ref} by={requested_by} {removed} extracts={len(extracts)}")
    return DeletionResult(request_id, counts, extracts)
