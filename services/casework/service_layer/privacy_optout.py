"""Opt-out (利用停止): a child is excluded from screening in casework while the opt-out holds — no alert is
raised (service_layer/intake.py asks ``CaseRepository.opted_out``), a held listing is dropped, an open case gets a
timeline entry, and masked extracts leave the child out. Reversible; every change is audited.

Each change is also queued in the outbox, in the same transaction, for ``privacy.optouts.v1`` (compacted, key child
id): scoring stops publishing flags for the child while it holds, and re-evaluates it on withdrawal. The message
carries the state, the days and who asked (a code); the free-text reason stays here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.topics.casework import ALERTS_TOPIC
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.casework.adapters.orm import Child, OutboxMessage, PrivacyHouseholdOptOut, PrivacyOptOut
from services.casework.adapters.repository import SqlCaseRepository
from services.casework.domain.access import Permission
from services.casework.service_layer import audit_log
from services.casework.service_layer.intake import _items, _settle, add_system_step
from services.casework.service_layer.opt_out_events import opt_out_event_json
from services.casework.service_layer.ports import Casework, Stores
from services.casework.service_layer.privacy_deletion import REQUESTERS
from services.casework.service_layer.privacy_requests import Refused, parse_day, refuse_audited, requester, stated


@dataclass(frozen=True)
class OptOutResult:
    child_id: str
    active: bool
    open_case: str | None
    screening: str | None = None  # after a withdrawal: what the alert policy did with the child's state now


def _publish(session: Session, c: Casework, row: PrivacyOptOut, changed_at: datetime, now: datetime) -> None:
    """Queues the child's opt-out state, as it changed at ``changed_at``, for privacy.optouts.v1 (the worker's
    relay publishes it). Scoring keeps the latest ``changed_at`` it applied: the same change sent again is stale."""
    session.add(OutboxMessage(topic=c.settings.topic(OPTOUTS.name), key=row.child_id, created_at=now,
                              payload=opt_out_event_json(child_id=row.child_id, active=row.active,
                                                         requested_on=row.requested_on, requested_by=row.requested_by,
                                                         changed_at=changed_at, now=now)))


def opt_out(c: Casework, *, username: str, child_id: str, requested_by: str | None, reason: str | None,
            requested_on: str | None = None, via_household: str | None = None) -> OptOutResult:
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.OPT_OUT)
            if requested_by not in REQUESTERS:
                raise Refused("bad_requester", f"申出者は {'・'.join(REQUESTERS)} のいずれかです")
            why = stated(reason, "理由", "no_reason")
            on = parse_day(requested_on, "--requested-on") if requested_on else now.date()
            if on > now.date():
                raise Refused("future_date", "申出日が未来の日付です (requested-on is in the future)")
            child = session.get(Child, child_id)
            if child is None or child.status == "merged":
                raise Refused("unknown_person", "該当する児童の記録はありません (no such person in casework)")
            row = session.get(PrivacyOptOut, child_id)
            if row is not None and row.active:
                raise Refused("already_opted_out", "既に利用停止中です (already opted out)")
            if row is None:
                row = PrivacyOptOut(child_id=child_id)
                session.add(row)
            row.active, row.requested_by, row.reason, row.requested_on = True, requested_by, why, on.isoformat()
            row.recorded_at, row.recorded_by = now, req.principal.user_id
            row.withdrawn_at, row.withdrawn_by, row.via_household = None, None, via_household
            child.pending_alert = None  # a listing held for a ward is not raised
            repo = SqlCaseRepository(session)
            open_alert = repo.open_alert(child_id)
            if open_alert is not None:  # the people working the case decide what to do; the timeline says why
                add_system_step(repo, open_alert.alert_id, "利用停止", now, result="利用停止",
                                details={"requested_by": requested_by or "", "requested_on": on.isoformat()})
            _publish(session, c, row, now, now)
            via = " via=household" if via_household else ""
            audit_log.append(session, req.actor, "opt_out", now, child_id=child_id, ward_code=child.ward_code,
                             detail=f"by={requested_by} on={on.isoformat()}{via}")
            return OptOutResult(child_id, True, open_alert.alert_id if open_alert else None)
    except Refused as exc:
        refuse_audited(c.sessions, username, "opt_out", exc, now, child_id=child_id[:64] or None)
        raise


def withdraw(c: Casework, *, username: str, child_id: str, reason: str | None) -> OptOutResult:
    """Ends an opt-out: the child is screened again from the next message about them."""
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.OPT_OUT)
            why = stated(reason, "理由", "no_reason")
            row = session.get(PrivacyOptOut, child_id)
            if row is None or not row.active:
                raise Refused("not_opted_out", "利用停止中ではありません (no opt-out in force)")
            row.active, row.withdrawn_at, row.withdrawn_by = False, now, req.principal.user_id
            row.reason = f"{row.reason} ／ 解除：{why}"[:500]
            _publish(session, c, row, now, now)
            # Screening resumes now, not at the child's next message (scoring emits only on change).
            outcome = "no_child"
            child = session.get(Child, child_id)
            if child is not None and child.status != "merged":
                repo = SqlCaseRepository(session)
                result = _settle(child, repo, c.policy, now, tier_before=child.tier, items_before=_items(child),
                                 source_event_id=f"privacy:opt_out_withdrawn:{now.isoformat()}",
                                 alerts_topic=c.settings.topic(ALERTS_TOPIC.name))
                outcome = result.outcome
            audit_log.append(session, req.actor, "opt_out_withdrawn", now, child_id=child_id,
                             detail=f"screening={outcome}")
            return OptOutResult(child_id, False, None, outcome)
    except Refused as exc:
        refuse_audited(c.sessions, username, "opt_out_withdrawn", exc, now, child_id=child_id[:64] or None)
        raise


def opted_out_children(c: Stores) -> list[tuple[str, str, date]]:
    with c.sessions() as session:
        return [(r.child_id, r.requested_by, date.fromisoformat(r.requested_on)) for r in session.scalars(
            select(PrivacyOptOut).where(PrivacyOptOut.active.is_(True)).order_by(PrivacyOptOut.recorded_at))]


def _household_of(session: Session, child_id: str) -> str:
    child = session.get(Child, child_id)
    household = child.household_id if child is not None and child.status != "merged" else None
    if household is None:
        raise Refused("unknown_household", "世帯が分かりません (no household known for this child)")
    return household


def opt_out_household(c: Casework, *, username: str, child_id: str, requested_by: str | None, reason: str | None,
                      requested_on: str | None = None) -> list[OptOutResult]:
    """A guardian's opt-out for all of a household's children (the household linkage knows for ``child_id``): each
    child not opted out yet is opted out as by ``opt_out`` — its own audit entry, outbox message and timeline entry —
    and the household's **standing** opt-out is recorded, so a child born into or joining the household later is
    opted out when casework learns of it (service_layer/intake.py ``_household_opt_out``), until withdrawn
    (``withdraw_household``). Refused when casework knows no household for the child, or the household's opt-out is
    already in force."""
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions() as session:
            requester(session, username, Permission.OPT_OUT)
            household = _household_of(session, child_id)
            standing = session.get(PrivacyHouseholdOptOut, household)
            if standing is not None and standing.active:
                raise Refused("already_opted_out", "この世帯は既に利用停止中です (the household is already opted out)")
            if requested_by not in REQUESTERS:
                raise Refused("bad_requester", f"申出者は {'・'.join(REQUESTERS)} のいずれかです")
            why = stated(reason, "理由", "no_reason")
            on = parse_day(requested_on, "--requested-on") if requested_on else now.date()
            if on > now.date():
                raise Refused("future_date", "申出日が未来の日付です (requested-on is in the future)")
            members = list(session.scalars(select(Child.child_id).where(
                Child.household_id == household, Child.status != "merged").order_by(Child.child_id)))
            held = {r.child_id for r in session.scalars(select(PrivacyOptOut).where(
                PrivacyOptOut.child_id.in_(members), PrivacyOptOut.active.is_(True)))}
    except Refused as exc:
        refuse_audited(c.sessions, username, "opt_out", exc, now, child_id=child_id[:64] or None)
        raise
    results = [opt_out(c, username=username, child_id=member, requested_by=requested_by, reason=reason,
                       requested_on=requested_on, via_household=household) for member in members if member not in held]
    with c.sessions.begin() as session:
        req = requester(session, username, Permission.OPT_OUT)
        standing = session.get(PrivacyHouseholdOptOut, household)
        if standing is None:
            standing = PrivacyHouseholdOptOut(household_id=household)
            session.add(standing)
        standing.active, standing.requested_by, standing.reason = True, str(requested_by), why
        standing.requested_on, standing.recorded_at, standing.recorded_by = on.isoformat(), now, req.principal.user_id
        standing.withdrawn_at, standing.withdrawn_by = None, None
        audit_log.append(session, req.actor, "opt_out_household", now, child_id=child_id, target=household,
                         detail=f"by={requested_by} on={on.isoformat()} children={len(results)}")
    return results


def withdraw_household(c: Casework, *, username: str, child_id: str, reason: str | None) -> list[OptOutResult]:
    """Ends the household's standing opt-out (no later child is covered) and withdraws every opt-out it covers
    (``via_household``), each as by ``withdraw``. A child's own opt-out, requested for that child alone, stays."""
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.OPT_OUT)
            why = stated(reason, "理由", "no_reason")
            household = _household_of(session, child_id)
            standing = session.get(PrivacyHouseholdOptOut, household)
            if standing is None or not standing.active:
                raise Refused("not_opted_out", "この世帯は利用停止中ではありません (no household opt-out in force)")
            standing.active, standing.withdrawn_at, standing.withdrawn_by = False, now, req.principal.user_id
            standing.reason = f"{standing.reason} ／ 解除：{why}"[:500]
            covered = list(session.scalars(select(PrivacyOptOut.child_id).where(
                PrivacyOptOut.via_household == household, PrivacyOptOut.active.is_(True))
                .order_by(PrivacyOptOut.child_id)))
            audit_log.append(session, req.actor, "opt_out_withdrawn", now, child_id=child_id, target=household,
                             detail=f"household children={len(covered)}")
    except Refused as exc:
        refuse_audited(c.sessions, username, "opt_out_withdrawn", exc, now, child_id=child_id[:64] or None)
        raise
    return [withdraw(c, username=username, child_id=member, reason=reason) for member in covered]


def republish(c: Casework, *, username: str) -> int:
    """Queues every opt-out casework holds (in force or withdrawn) for privacy.optouts.v1 again, each as it last
    changed: for opt-outs recorded before the topic existed, or a scoring store rebuilt from nothing. Scoring
    applies what it has not seen and drops the rest as stale. Returns how many were queued; audited."""
    now = c.clock()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.OPT_OUT)
            rows = list(session.scalars(select(PrivacyOptOut).order_by(PrivacyOptOut.recorded_at)))
            for row in rows:
                changed = row.recorded_at if row.active or row.withdrawn_at is None else row.withdrawn_at
                _publish(session, c, row, changed, now)
            audit_log.append(session, req.actor, "opt_outs_republished", now, detail=f"queued={len(rows)}")
            return len(rows)
    except Refused as exc:
        refuse_audited(c.sessions, username, "opt_outs_republished", exc, now)
        raise
