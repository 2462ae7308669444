"""Applying scoring.flags.v1 and linkage.children.v1 to the case database (the worker's use cases)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.casework import ALERTS_TOPIC, AlertV1
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.adapters.orm import Alert, Child
from services.casework.adapters.repository import CaseRepository
from services.casework.domain.alert_policy import AlertPolicy, FlagsChange, NoAlert, RaiseAlert, UpdateOpenCase

SOURCE = "/tsunagu/casework"


@dataclass
class IntakeResult:
    outcome: str  # alert_raised / case_updated / no_alert:<why> / duplicate / profile_updated
    alerts: list[Alert] = field(default_factory=list)


def handle_flags(event: Envelope[ChildFlagsV1], *, event_key: str, session: Session, policy: AlertPolicy,
                 now: datetime, alerts_topic: str = ALERTS_TOPIC.name,
                 repo: CaseRepository | None = None) -> IntakeResult:
    repo = repo or CaseRepository(session)
    if repo.already_processed(event_key):
        return IntakeResult("duplicate")
    msg = event.data
    child = repo.child_or_new(msg.child_id)
    change = FlagsChange(
        child_id=msg.child_id, ward_code=msg.ward_code or child.ward_code, as_of=msg.as_of,
        tier_before=msg.before.tier if msg.before else None, tier_after=msg.after.tier,
        items_before=frozenset(f.item for f in msg.before.flags) if msg.before else frozenset(),
        items_after=frozenset(f.item for f in msg.after.flags),
        supported_by_child_guidance=msg.after.supported_by_child_guidance,
    )
    decision = policy.decide(change, repo.history(msg.child_id), now)
    _store_flags(child, msg, now)
    result = _apply(decision, repo, child_id=msg.child_id, now=now, source_event_id=event.id,
                    alerts_topic=alerts_topic)
    repo.mark_processed(event_key, now)
    return result


def handle_profile(event: Envelope[ChildProfileV1], *, event_key: str, session: Session, policy: AlertPolicy,
                   now: datetime, alerts_topic: str = ALERTS_TOPIC.name,
                   repo: CaseRepository | None = None) -> IntakeResult:
    repo = repo or CaseRepository(session)
    if repo.already_processed(event_key):
        return IntakeResult("duplicate")
    profile = event.data
    child = repo.child_or_new(profile.child_id)
    for name in ("household_id", "name_kanji", "name_kana", "birth_date", "sex", "ward_code", "address", "status"):
        setattr(child, name, getattr(profile, name))
    child.profile_updated_at = now
    result = IntakeResult("profile_updated")
    open_alert = repo.open_alert(profile.child_id)
    if profile.status == "merged" and open_alert is not None:
        repo.close_as_merged(open_alert.alert_id, profile.merged_into, now)
        repo.mark_processed(event_key, now)
        return IntakeResult("case_merged")
    if profile.ward_code and open_alert is not None and open_alert.ward_code != profile.ward_code:
        items = frozenset(int(i) for i in child.current_items)
        change = FlagsChange(child_id=profile.child_id, ward_code=profile.ward_code,
                             as_of=event.time.date().isoformat(), tier_before=child.tier, tier_after=child.tier,
                             items_before=items, items_after=items,
                             supported_by_child_guidance=child.supported_by_child_guidance)
        result = _apply(policy.decide(change, repo.history(profile.child_id), now), repo,
                        child_id=profile.child_id, now=now, source_event_id=event.id, alerts_topic=alerts_topic)
    repo.mark_processed(event_key, now)
    return result


def _store_flags(child: Child, msg: ChildFlagsV1, now: datetime) -> None:
    child.flags_ward_code = msg.ward_code
    if msg.ward_code and not child.ward_code:
        child.ward_code = msg.ward_code
    child.tier = msg.after.tier
    child.score = msg.after.score
    child.current_items = sorted(f.item for f in msg.after.flags)
    child.flags = [f.model_dump(mode="json") for f in msg.after.flags]
    child.flags_as_of = msg.as_of
    child.supported_by_child_guidance = msg.after.supported_by_child_guidance
    child.flags_updated_at = now


def _apply(decision: RaiseAlert | UpdateOpenCase | NoAlert, repo: CaseRepository, *, child_id: str,
           now: datetime, source_event_id: str, alerts_topic: str) -> IntakeResult:
    if isinstance(decision, NoAlert):
        return IntakeResult(f"no_alert:{decision.why}")
    if isinstance(decision, UpdateOpenCase):
        details = {"gained": ",".join(map(str, decision.gained_items)),
                   "cleared": ",".join(map(str, decision.cleared_items))}
        alert = repo.alert(decision.alert_id) if decision.tier_changed else None
        if alert is not None:
            details["tier"] = f"{alert.tier or '—'}→{decision.tier}"
            alert.tier = decision.tier
        repo.add_system_step(decision.alert_id, "フラグ変化", now, details=details)
        return IntakeResult("case_updated")
    if decision.transfer_from:
        repo.transfer(decision.transfer_from, decision.ward_code, now)
    alert = repo.add_alert(decision, child_id, now, source_event_id)
    if alert is None:
        return IntakeResult("duplicate")
    repo.add_outbox(alerts_topic, child_id, alert_event_json(alert), now)
    return IntakeResult("alert_raised", [alert])


def alert_event_json(alert: Alert) -> str:
    data = AlertV1(alert_id=alert.alert_id, child_id=alert.child_id, ward_code=alert.ward_code,
                   raised_at=alert.raised_at.isoformat(), tier=alert.tier, items=list(alert.items),
                   reason=alert.reason)
    return json.dumps(envelope_dict(data=data, type_="casework.alert.raised", source=SOURCE,
                                    subject=alert.child_id, event_id=alert.alert_id, time=alert.raised_at),
                      ensure_ascii=False)
