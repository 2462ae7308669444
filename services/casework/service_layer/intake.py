"""Applying scoring.flags.v1 and linkage.children.v1 to the case database (the worker's use cases).

Both handlers first bring the child's stored state up to date (flags, profile, the best-known ward by the
facts' own dates), then ask the alert policy what that state calls for (``_settle``). So whether the ward
came with the flags, with a profile before them or with a profile after them, the child gets the same alert.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.casework import ALERTS_TOPIC, AlertV1
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS_TOPIC
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.domain import ward_order
from services.casework.domain.alert_policy import (
    AlertPolicy,
    ChildHistory,
    Decision,
    FlagsChange,
    HoldAlert,
    Listing,
    NoAlert,
    OpenCase,
    UpdateOpenCase,
)
from services.casework.domain.ward_order import WardClaim
from services.casework.domain.workflow import OPEN_STATES, CaseState
from services.casework.service_layer.opt_out_events import opt_out_event_json
from services.casework.service_layer.unit_of_work import (
    AbstractUnitOfWork,
    AlertRecord,
    CaseRepository,
    ChildRecord,
    NewAlert,
    NewOptOut,
    NewStep,
)

SOURCE = "/tsunagu/casework"
SYSTEM_ACTOR = "system"
PROFILE_FIELDS = ("household_id", "name_kanji", "name_kana", "birth_date", "sex", "address", "status")


@dataclass
class IntakeResult:
    outcome: str  # alert_raised / case_updated / no_alert:<why> / duplicate / profile_updated / profile_stale / …
    alerts: list[AlertRecord] = field(default_factory=list)
    source_time: str | None = None  # when the source handed over the event behind the flags (end-to-end latency)


def handle_flags(event: Envelope[ChildFlagsV1], *, event_key: str, uow: AbstractUnitOfWork, policy: AlertPolicy,
                 now: datetime, alerts_topic: str = ALERTS_TOPIC.name) -> IntakeResult:
    repo = uow.cases
    if repo.already_processed(event_key):
        return IntakeResult("duplicate")
    msg = event.data
    if repo.forgotten(msg.child_id):  # privacy: deleted on request (docs/privacy.md)
        repo.mark_processed(event_key, now)
        return IntakeResult("no_alert:deleted")
    child = repo.child_or_new(msg.child_id)
    tier_before, items_before = child.tier, _items(child)
    _store_flags(child, msg, now)
    settle = partial(_settle, child, repo, policy, now, source_event_id=event.id, alerts_topic=alerts_topic,
                     source_time=msg.source_time)
    listed_in = ward_order.ward_on(msg.as_of, WardClaim(child.profile_ward_code, child.profile_ward_since),
                                   WardClaim(child.flags_ward_code, child.flags_ward_since))
    if listed_in and listed_in != child.ward_code and repo.open_alert(child.child_id) is None:
        # The child moved after the day these flags speak of, and casework learned of the move first: the
        # listing goes to the ward the child lived in that day and then follows the move — what happens when
        # the move comes after the flags, so the alerts do not depend on which topic was read first.
        child.ward_code = listed_in
        result = settle(tier_before=tier_before, items_before=items_before)
        _resolve_ward(child)
        moved = settle(tier_before=child.tier, items_before=_items(child))
        if moved.outcome == "alert_raised":
            result = IntakeResult("alert_raised", result.alerts + moved.alerts)
    else:
        result = settle(tier_before=tier_before, items_before=items_before)
    repo.mark_processed(event_key, now)
    result.source_time = msg.source_time
    return result


def handle_profile(event: Envelope[ChildProfileV1], *, event_key: str, uow: AbstractUnitOfWork,
                   policy: AlertPolicy, now: datetime, alerts_topic: str = ALERTS_TOPIC.name,
                   optouts_topic: str = OPTOUTS_TOPIC.name) -> IntakeResult:
    repo = uow.cases
    if repo.already_processed(event_key):
        return IntakeResult("duplicate")
    profile = event.data
    if repo.forgotten(profile.child_id):  # privacy: deleted on request (docs/privacy.md)
        repo.mark_processed(event_key, now)
        return IntakeResult("no_alert:deleted")
    child = repo.child_or_new(profile.child_id)
    if ward_order.profile_is_stale(child.profile_version, profile.version):
        repo.mark_processed(event_key, now)
        return IntakeResult("profile_stale")
    _store_profile(child, profile, now)
    if profile.status == "merged":
        child.pending_alert = None  # the surviving child carries the case on
        open_alert = repo.open_alert(profile.child_id)
        if open_alert is not None:
            # Linkage found the child to be a duplicate record: the case continues under the surviving child.
            end_case(repo, open_alert.alert_id, "名寄せ統合", now, result="統合",
                     details={"merged_into": profile.merged_into or ""})
        repo.mark_processed(event_key, now)
        return IntakeResult("case_merged" if open_alert is not None else "profile_updated")
    covered = _household_opt_out(child, repo, now, optouts_topic)
    result = _settle(child, repo, policy, now, tier_before=child.tier, items_before=_items(child),
                     source_event_id=event.id, alerts_topic=alerts_topic)
    if covered:
        repo.mark_processed(event_key, now)
        return IntakeResult("opted_out_household")
    repo.mark_processed(event_key, now)
    return result if result.outcome in ("alert_raised", "duplicate") else IntakeResult("profile_updated")


def _household_opt_out(child: ChildRecord, repo: CaseRepository, now: datetime, optouts_topic: str) -> bool:
    """A guardian's standing household opt-out covers a child casework now learns is in the household (born into
    it, moved in): the child is opted out as by the request itself — its record (``via_household``), the message
    for privacy.optouts.v1, a timeline entry on an open case, an audit entry — unless it is opted out already, or
    its own opt-out was withdrawn after the household's request (that withdrawal decided for this child)."""
    standing = repo.household_opt_out(child.household_id) if child.household_id else None
    if standing is None:
        return False
    own = repo.opt_out_of(child.child_id)
    if own is not None and (own.active or (own.withdrawn_at is not None and own.withdrawn_at >= standing.recorded_at)):
        return False
    repo.add_opt_out(NewOptOut(child_id=child.child_id, requested_by=standing.requested_by,
                               reason=f"世帯の利用停止（{standing.requested_on}の申出）の対象として記録",
                               requested_on=standing.requested_on, recorded_at=now,
                               via_household=standing.household_id))
    repo.add_outbox(optouts_topic, child.child_id, opt_out_event_json(
        child_id=child.child_id, active=True, requested_on=standing.requested_on,
        requested_by=standing.requested_by, changed_at=now, now=now), now)
    child.pending_alert = None
    open_alert = repo.open_alert(child.child_id)
    if open_alert is not None:
        add_system_step(repo, open_alert.alert_id, "利用停止", now, result="利用停止",
                        details={"requested_by": standing.requested_by, "requested_on": standing.requested_on,
                                 "via": "household"})
    repo.audit("opt_out", now, child_id=child.child_id, ward_code=child.ward_code,
               detail=f"by={standing.requested_by} on={standing.requested_on} via=household")
    return True


def _items(child: ChildRecord) -> frozenset[int]:
    return frozenset(int(i) for i in child.current_items or [])


def _store_flags(child: ChildRecord, msg: ChildFlagsV1, now: datetime) -> None:
    if ward_order.replaces(WardClaim(child.flags_ward_code, child.flags_ward_since),
                           WardClaim(msg.ward_code, msg.ward_since)):
        child.flags_ward_code, child.flags_ward_since = msg.ward_code, msg.ward_since
    _resolve_ward(child)
    child.tier = msg.after.tier
    child.score = msg.after.score
    child.current_items = sorted(f.item for f in msg.after.flags)
    child.flags = [f.model_dump(mode="json") for f in msg.after.flags]
    child.flags_as_of = msg.as_of
    # 行政とのつながり: the signals as of the same date (an absent list means none, per the contract).
    child.signals = [s.model_dump(mode="json") for s in msg.after.signals]
    child.current_signals = sorted({s.code for s in msg.after.signals})
    child.supported_by_child_guidance = msg.after.supported_by_child_guidance
    child.flags_updated_at = now


def _store_profile(child: ChildRecord, profile: ChildProfileV1, now: datetime) -> None:
    for name in PROFILE_FIELDS:
        setattr(child, name, getattr(profile, name))
    held = WardClaim(child.profile_ward_code, child.profile_ward_since)
    incoming = WardClaim(profile.ward_code, profile.ward_since)
    newer_version = (profile.version is not None and child.profile_version is not None
                     and profile.version > child.profile_version)
    # linkage's version orders its own profiles; without versions, the ward's own date does.
    if (newer_version and profile.ward_code) or ward_order.replaces(held, incoming):
        child.profile_ward_code, child.profile_ward_since = profile.ward_code, profile.ward_since
    if profile.version is not None:
        child.profile_version = max(profile.version, child.profile_version or 0)
    _resolve_ward(child)
    child.profile_updated_at = now


def _resolve_ward(child: ChildRecord) -> None:
    child.ward_code = ward_order.resolve(WardClaim(child.profile_ward_code, child.profile_ward_since),
                                         WardClaim(child.flags_ward_code, child.flags_ward_since))


def _settle(child: ChildRecord, repo: CaseRepository, policy: AlertPolicy, now: datetime, *, tier_before: str | None,
            items_before: frozenset[int], source_event_id: str, alerts_topic: str,
            source_time: str | None = None) -> IntakeResult:
    """What the child's state now calls for: raise (or raise a held listing), update the open case, hold, none."""
    if repo.opted_out(child.child_id):  # privacy: 利用停止, no screening while it holds (docs/privacy.md)
        return IntakeResult("no_alert:opted_out")
    change = FlagsChange(
        child_id=child.child_id, ward_code=child.ward_code, tier_before=tier_before, tier_after=child.tier,
        items_before=items_before, items_after=_items(child),
        supported_by_child_guidance=bool(child.supported_by_child_guidance),
        pending=Listing.from_json(child.pending_alert),
    )
    decision = policy.decide(change, history(repo.alerts_of_child(child.child_id), child.alerts_purged or 0), now)
    if isinstance(decision, HoldAlert):
        # held_since: when the listing was first held, kept while it waits (HQ's 区が未確定の対象者, the gauges)
        held_since = (child.pending_alert or {}).get("held_since") or now.isoformat()
        child.pending_alert = {**decision.listing.as_json(), "held_since": held_since}
        return IntakeResult(f"no_alert:{decision.why}")
    result = _apply(decision, repo, child_id=child.child_id, now=now, source_event_id=source_event_id,
                    alerts_topic=alerts_topic, source_time=source_time)
    if result.outcome in ("alert_raised", "duplicate"):
        child.pending_alert = None
    return result


def _apply(decision: Decision, repo: CaseRepository, *, child_id: str, now: datetime, source_event_id: str,
           alerts_topic: str, source_time: str | None = None) -> IntakeResult:
    if isinstance(decision, NoAlert | HoldAlert):
        return IntakeResult(f"no_alert:{decision.why}")
    if isinstance(decision, UpdateOpenCase):
        details = {"gained": ",".join(map(str, decision.gained_items)),
                   "cleared": ",".join(map(str, decision.cleared_items))}
        alert = repo.alert(decision.alert_id) if decision.tier_changed else None
        if alert is not None:
            details["tier"] = f"{alert.tier or '—'}→{decision.tier}"
            alert.tier = decision.tier
        add_system_step(repo, decision.alert_id, "フラグ変化", now, details=details)
        return IntakeResult("case_updated")
    if decision.transfer_from:
        end_case(repo, decision.transfer_from, "移管", now, result=decision.ward_code,
                 details={"to_ward": decision.ward_code})
    child = repo.child(child_id)  # what this alert shows its ward for good, whatever the child's record becomes
    alert = repo.add_alert(NewAlert(
        alert_id=decision.alert_id, alert_key=decision.alert_key, child_id=child_id, ward_code=decision.ward_code,
        tier=decision.tier, items=list(decision.items), reason=decision.reason, raised_at=now,
        state=CaseState.LISTED.value, source_event_id=source_event_id,
        name_kanji_at_raise=child.name_kanji if child else None, name_kana_at_raise=child.name_kana if child else None,
        birth_date_at_raise=child.birth_date if child else None,
        signals_at_raise=None if child is None or child.current_signals is None else list(child.current_signals)))
    if alert is None:
        return IntakeResult("duplicate")
    add_system_step(repo, alert.alert_id, "一次スクリーニング", now, to_state=CaseState.LISTED.value,
                    details={"reason": decision.reason, "items": ",".join(map(str, decision.items))})
    repo.add_outbox(alerts_topic, child_id, alert_event_json(alert, source_time), now)
    return IntakeResult("alert_raised", [alert])


def history(alerts: Sequence[AlertRecord], purged: int = 0) -> ChildHistory:
    """What the alert policy needs of the child's alerts (oldest first): the open case, the last alert. ``purged``
    closed cases were removed by the retention purge: they still count, so the next alert's key (its episode) is
    new and a child alerted before is not "never alerted"."""
    open_states = {s.value for s in OPEN_STATES}
    open_alert = next((a for a in reversed(alerts) if a.state in open_states), None)
    last = max(alerts, key=lambda a: a.raised_at, default=None)
    return ChildHistory(
        open_case=OpenCase(open_alert.alert_id, open_alert.ward_code, frozenset(open_alert.items), open_alert.tier)
        if open_alert else None,
        last_alert_at=last.raised_at if last else None,
        last_alert_tier=last.tier if last else None,
        alerts_raised=len(alerts) + purged,
    )


def add_system_step(repo: CaseRepository, alert_id: str, action: str, at: datetime, *, result: str | None = None,
                    details: dict[str, Any] | None = None, from_state: str | None = None,
                    to_state: str | None = None) -> None:
    """A timeline entry made by casework itself (actor ``system``), not by a person."""
    repo.add_step(NewStep(alert_id=alert_id, action=action, at=at, actor_id=SYSTEM_ACTOR, actor_role=SYSTEM_ACTOR,
                          result=result, details=details or {}, from_state=from_state, to_state=to_state))


def end_case(repo: CaseRepository, alert_id: str, action: str, at: datetime, *, result: str,
             details: dict[str, Any]) -> None:
    """Ends an open case as transferred: 移管 (the child moved) or 名寄せ統合 (a duplicate record); else nothing."""
    alert = repo.alert(alert_id)
    if alert is None or alert.state not in {s.value for s in OPEN_STATES}:
        return
    add_system_step(repo, alert_id, action, at, result=result, from_state=alert.state,
                    to_state=CaseState.TRANSFERRED.value, details=details)
    alert.state, alert.state_changed_at = CaseState.TRANSFERRED.value, at


def alert_event_json(alert: AlertRecord, source_time: str | None = None) -> str:
    data = AlertV1(alert_id=alert.alert_id, child_id=alert.child_id, ward_code=alert.ward_code,
                   raised_at=alert.raised_at.isoformat(), tier=alert.tier, items=list(alert.items),
                   reason=alert.reason, source_time=source_time)
    return json.dumps(envelope_dict(data=data, type_="casework.alert.raised", source=SOURCE,
                                    subject=alert.child_id, event_id=alert.alert_id, time=alert.raised_at),
                      ensure_ascii=False)
