"""Opt-out (利用停止), deletion (削除) and disclosure (開示) on an in-memory database (issue 15)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from contracts.topics.privacy_optouts import OptOutV1
from services.casework.adapters.orm import (
    Alert,
    AuditRecord,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDeletion,
    PrivacyDisclosureRequest,
    PrivacyExtractSubject,
    PrivacyKey,
    PrivacyOptOut,
)
from services.casework.bootstrap import Container
from services.casework.domain.pseudonym import pseudonym
from services.casework.service_layer import audit_log, privacy_deletion, privacy_disclosure, privacy_optout
from services.casework.service_layer.privacy_requests import Refused
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw
from tests.unit.casework.privacy_data import NOW, add_users, memory_container, populate, produce, read_csv

pytestmark = pytest.mark.unit


@pytest.fixture
def c() -> Iterator[Container]:
    container = memory_container()
    add_users(container)
    yield container
    container.engine.dispose()


def flagged(c: Container, child: str, items: list[int], before: list[int] | None = None) -> str:
    return WorkerHandlers(c).process("flags", raw(flags_event(child, "40131", before, items, tier_after="予防")),
                                     where="t").outcome


def alerts_of(c: Container, child: str) -> int:
    with c.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Alert).where(Alert.child_id == child)) or 0)


def test_opted_out_child_raises_no_alert_until_withdrawn(c: Container) -> None:
    WorkerHandlers(c).process("profile", raw(profile_event("oo-1", "40131")), where="t")
    privacy_optout.opt_out(c, username="privacy", child_id="oo-1", requested_by="保護者", reason="保護者からの申出")
    assert flagged(c, "oo-1", [17]) == "no_alert:opted_out"
    assert alerts_of(c, "oo-1") == 0
    with pytest.raises(Refused):
        privacy_optout.opt_out(c, username="privacy", child_id="oo-1", requested_by="保護者", reason="二重の申出")
    result = privacy_optout.withdraw(c, username="hq", child_id="oo-1", reason="申出の撤回")
    assert result.screening == "alert_raised" and alerts_of(c, "oo-1") == 1
    with c.sessions() as session:
        row = session.get(PrivacyOptOut, "oo-1")
        assert row is not None and not row.active and row.withdrawn_at is not None and "撤回" in row.reason
        actions = [a.action for a in session.scalars(select(AuditRecord).where(AuditRecord.child_id == "oo-1"))]
        assert actions == ["opt_out", "opt_out", "opt_out_withdrawn"]  # the refused repeat is an entry too


def _opt_out_messages(c: Container, child: str) -> list[OutboxMessage]:
    with c.sessions() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.key == child,
                                                                OutboxMessage.topic == "privacy.optouts.v1")
                                    .order_by(OutboxMessage.id)))


def test_opt_out_and_withdrawal_are_queued_for_scoring_without_the_reason(c: Container) -> None:
    WorkerHandlers(c).process("profile", raw(profile_event("oq-1", "40131")), where="t")
    privacy_optout.opt_out(c, username="privacy", child_id="oq-1", requested_by="本人", reason="本人からの申出",
                           requested_on="2026-01-05")
    with pytest.raises(Refused):  # a refused request queues nothing
        privacy_optout.opt_out(c, username="privacy", child_id="oq-1", requested_by="本人", reason="二重")
    c.clock = lambda: NOW + timedelta(hours=1)
    privacy_optout.withdraw(c, username="hq", child_id="oq-1", reason="撤回の申出")
    queued = _opt_out_messages(c, "oq-1")
    assert len(queued) == 2 and all(m.published_at is None for m in queued)
    events = [json.loads(m.payload) for m in queued]
    opted, withdrawn = (OptOutV1.model_validate(e["data"]) for e in events)
    assert [e["type"] for e in events] == ["privacy.optout.changed"] * 2 and events[0]["subject"] == "oq-1"
    assert opted.active and opted.since == "2026-01-05" and opted.until is None and opted.requested_by == "本人"
    assert opted.reason_code == "request"
    assert not withdrawn.active and withdrawn.until is not None and withdrawn.reason_code == "withdrawal"
    assert withdrawn.changed_at > opted.changed_at
    assert not any(word in m.payload for m in queued for word in ("申出", "撤回"))  # free text stays in casework


def test_a_guardians_opt_out_covers_every_child_of_the_household(c: Container) -> None:
    for child, household in (("hh-1", "h-7"), ("hh-2", "h-7"), ("hh-3", "h-7"), ("other", "h-8")):
        WorkerHandlers(c).process("profile", raw(profile_event(child, "40131", household_id=household)), where="t")
    privacy_optout.opt_out(c, username="privacy", child_id="hh-3", requested_by="保護者", reason="先に一人")
    results = privacy_optout.opt_out_household(c, username="privacy", child_id="hh-1", requested_by="保護者",
                                               reason="保護者から世帯全員について申出")
    assert [r.child_id for r in results] == ["hh-1", "hh-2"]  # hh-3 was opted out already; "other" is not theirs
    assert [flagged(c, child, [17]) for child in ("hh-1", "hh-2", "hh-3", "other")] == [
        "no_alert:opted_out", "no_alert:opted_out", "no_alert:opted_out", "alert_raised"]
    assert all(len(_opt_out_messages(c, child)) == 1 for child in ("hh-1", "hh-2", "hh-3"))
    with pytest.raises(Refused):  # no household known: refused, audited, nothing changes
        privacy_optout.opt_out_household(c, username="privacy", child_id="nobody", requested_by="保護者",
                                         reason="申出")
    with pytest.raises(Refused):  # a role without the permission
        privacy_optout.opt_out_household(c, username="higashi", child_id="other", requested_by="保護者",
                                         reason="申出")
    assert not _opt_out_messages(c, "other")


def test_republishing_queues_every_opt_out_as_it_last_changed_and_is_audited(c: Container) -> None:
    for child in ("rp-1", "rp-2"):
        WorkerHandlers(c).process("profile", raw(profile_event(child, "40131")), where="t")
        privacy_optout.opt_out(c, username="privacy", child_id=child, requested_by="本人", reason="申出")
    c.clock = lambda: NOW + timedelta(hours=1)
    privacy_optout.withdraw(c, username="privacy", child_id="rp-2", reason="撤回")
    first = {child: [OptOutV1.model_validate(json.loads(m.payload)["data"]) for m in _opt_out_messages(c, child)]
             for child in ("rp-1", "rp-2")}
    c.clock = lambda: NOW + timedelta(days=3)
    assert privacy_optout.republish(c, username="privacy") == 2
    again = {child: OptOutV1.model_validate(json.loads(_opt_out_messages(c, child)[-1].payload)["data"])
             for child in ("rp-1", "rp-2")}
    assert again["rp-1"] == first["rp-1"][-1] and again["rp-1"].active  # the same change: scoring drops it as stale
    assert again["rp-2"] == first["rp-2"][-1] and not again["rp-2"].active
    with pytest.raises(Refused):
        privacy_optout.republish(c, username="higashi")
    with c.sessions() as session:
        actions = [a.action for a in session.scalars(select(AuditRecord).order_by(AuditRecord.seq))]
    assert actions[-2:] == ["opt_outs_republished", "opt_outs_republished"]


def test_deleting_an_opted_out_child_queues_a_tombstone_for_the_opt_out_topic(
        c: Container, monkeypatch: pytest.MonkeyPatch) -> None:
    WorkerHandlers(c).process("profile", raw(profile_event("od-1", "40131")), where="t")
    privacy_optout.opt_out(c, username="privacy", child_id="od-1", requested_by="保護者", reason="申出")
    privacy_deletion.delete_person(c, username="privacy", child_id="od-1", requested_by="保護者",
                                   request_ref="R-9", confirm=lambda _c, _e: True)
    [tombstone] = _opt_out_messages(c, "od-1")  # the earlier opt-out message went with the child's outbox rows
    assert tombstone.payload == privacy_deletion.TOMBSTONE
    sent: list[tuple[str, str, bytes | None]] = []

    async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
        sent.extend(batch)

    async def in_this_thread(function: Any, *args: Any) -> Any:  # in-memory SQLite lives in this thread
        return function(*args)

    handlers = WorkerHandlers(c)
    monkeypatch.setattr(handlers, "on_relay_thread", in_this_thread)
    asyncio.run(handlers.publish_outbox(send_many))
    assert ("privacy.optouts.v1", "od-1", None) in sent  # published as a null value


def test_opt_out_refusals_change_nothing(c: Container) -> None:
    WorkerHandlers(c).process("profile", raw(profile_event("oo-2", "40131")), where="t")
    for kwargs in ({"username": "higashi"}, {"requested_by": "隣人"}, {"reason": ""}, {"child_id": "nobody"}):
        args = {"username": "privacy", "child_id": "oo-2", "requested_by": "本人", "reason": "本人の申出"} | kwargs
        with pytest.raises(Refused):
            privacy_optout.opt_out(c, **args)  # type: ignore[arg-type]
    with c.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PrivacyOptOut)) == 0
    assert flagged(c, "oo-2", [17]) == "alert_raised"


def test_opted_out_children_are_left_out_of_extracts(c: Container, tmp_path: Path) -> None:
    populate(c, n=40)
    privacy_optout.opt_out(c, username="privacy", child_id="pc-00003", requested_by="本人", reason="本人の申出")
    result = produce(c, tmp_path)
    assert result.k_report["subjects_before"] == 39


def test_deletion_removes_the_child_everywhere_and_queues_a_tombstone(c: Container, tmp_path: Path) -> None:
    populate(c, n=40)
    extract = produce(c, tmp_path)
    with c.sessions() as session:  # a flagged (alerted) child the extract released (k-anonymity may drop some)
        key = session.get(PrivacyKey, extract.key_id)
        assert key is not None and key.key_hex
        released = {r["child_pseudonym"] for r in read_csv(extract.out_dir / "children.csv")}
        child = next(f"pc-{i:05d}" for i in range(0, 40, 3)
                     if pseudonym(bytes.fromhex(key.key_hex), "child", f"pc-{i:05d}") in released)
    privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path / "d", request_ref="R-1",
                                pdf=False)
    plans: list[dict[str, int]] = []
    with pytest.raises(Refused):  # declined: nothing happens
        privacy_deletion.delete_person(c, username="privacy", child_id=child, requested_by="保護者",
                                       request_ref="R-2", confirm=lambda counts, _e: plans.append(counts) or False)
    assert plans and plans[0]["children"] == 1 and plans[0]["alerts"] == 1 and alerts_of(c, child) == 1
    result = privacy_deletion.delete_person(c, username="privacy", child_id=child, requested_by="保護者",
                                            request_ref="R-2", confirm=lambda _c, _e: True)
    assert result.removed["children"] == 1 and result.removed["alerts"] == 1 and result.removed["case_steps"] >= 1
    [held] = [e for e in result.extracts if e["pseudonym"]]
    assert held["extract_id"] == extract.extract_id
    assert held["pseudonym"] in {r["child_pseudonym"] for r in read_csv(extract.out_dir / "children.csv")}
    with c.sessions() as session:
        assert session.get(Child, child) is None and alerts_of(c, child) == 0
        assert session.scalar(select(func.count()).select_from(CaseStep).where(
            CaseStep.alert_id.notin_(select(Alert.alert_id)))) == 0
        assert session.scalar(select(func.count()).select_from(PrivacyExtractSubject).where(
            PrivacyExtractSubject.pseudonym == held["pseudonym"])) == 0
        [tombstone] = session.scalars(select(OutboxMessage).where(OutboxMessage.key == child))
        event = json.loads(tombstone.payload)
        assert tombstone.topic == "privacy.deletions.v1" and event["data"]["child_id"] == child
        assert event["id"] == result.request_id and event["type"] == "privacy.person.deleted"
        deletion = session.get(PrivacyDeletion, result.request_id)
        assert deletion is not None and child not in json.dumps(deletion.removed) + json.dumps(deletion.extracts)
        # the audit trail keeps the earlier accesses and records the deletion (and the refusal); it still verifies
        actions = [a.action for a in session.scalars(select(AuditRecord).where(AuditRecord.child_id == child))]
        assert actions == ["disclosure_request", "disclosure", "delete_person", "delete_person"]
        # the disclosure request made before, and the answers it would have kept, went with the child
        assert session.scalar(select(func.count()).select_from(PrivacyDisclosureRequest)) == 0
        assert audit_log.verify(session).ok
    # late messages about the child do not bring it back; extracts no longer find it; a disclosure says casework
    # holds nothing (deleted on request) and asks linkage and scoring whether they still do
    assert flagged(c, child, [17, 19]) == "no_alert:deleted"
    WorkerHandlers(c).process("profile", raw(profile_event(child, "40131")), where="t")
    with c.sessions() as session:
        assert session.get(Child, child) is None
    after = privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path / "d2", request_ref="R-3",
                                        pdf=False)
    html = after.html.read_text(encoding="utf-8")
    assert "削除請求によりケース管理から削除されています" in html and "試験 太郎" not in html
    assert after.status.deleted and [p.state for p in after.status.parts] == ["pending", "pending"]
    with pytest.raises(Refused, match="該当する児童"):
        privacy_deletion.delete_person(c, username="privacy", child_id=child, requested_by="保護者",
                                       request_ref="R-4", confirm=lambda _c, _e: True)
    assert produce(c, tmp_path / "after").k_report["subjects_before"] == 39


def test_deletion_needs_the_privacy_officer(c: Container) -> None:
    populate(c, n=5)
    for user in ("hq", "higashi", "analyst"):
        with pytest.raises(Refused):
            privacy_deletion.delete_person(c, username=user, child_id="pc-00000", requested_by="本人",
                                           request_ref="R", confirm=lambda _c, _e: True)
    with c.sessions() as session:
        assert session.get(Child, "pc-00000") is not None


def test_disclosure_lists_facts_and_every_access(c: Container, tmp_path: Path) -> None:
    populate(c, n=4)
    child = "pc-00003"
    with c.sessions.begin() as session:
        audit_log.append(session, audit_log.Actor("u-ward", "ward_staff", "10.0.0.1"), "view_child", c.clock(),
                         child_id=child, ward_code="40131")
    result = privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path, request_ref="R7-12",
                                         pdf=False)
    html = result.html.read_text(encoding="utf-8")
    assert "試験 太郎3" in html and "EPDS高値" in html and "児童情報の閲覧" in html and "R7-12" in html
    assert "一次スクリーニング" in html and "健診の受診記録がありません" in html
    assert result.accesses == 2 and result.pdf is None  # the view, and the disclosure request itself
    with c.sessions() as session:
        [entry] = session.scalars(select(AuditRecord).where(AuditRecord.action == "disclosure"))
        assert entry.child_id == child and entry.outcome == "ok"
    with pytest.raises(Refused):
        privacy_disclosure.disclose(c, username="hq", child_id=child, out=tmp_path, request_ref="R7-13")
    with pytest.raises(Refused):
        privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path, request_ref="")


def test_disclosure_includes_the_connection_signals(c: Container, tmp_path: Path) -> None:
    """開示 covers everything held: the 行政とのつながり signals too, with their evidence (issue 18)."""
    populate(c, n=2)
    child = "pc-00001"
    html = privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path, request_ref="R7-20",
                                       pdf=False).html.read_text(encoding="utf-8")
    assert "判定をまだ受け取っていません" in html  # this child's assessment has not arrived: not "none"
    with c.sessions.begin() as session:
        session.get(Child, child).signals = [{
            "code": "unenrolled", "label_ja": "未就園", "rule_version": "v1", "raised_on": "2026-04-01",
            "detail_ja": "保育所・幼稚園の在籍記録がありません",
            "evidence": [{"fact_id": "f-1", "source_system": "resident_registry", "record_date": "2026-04-01",
                          "summary_ja": "3歳"}]}]
    html = privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path / "2",
                                       request_ref="R7-21", pdf=False).html.read_text(encoding="utf-8")
    assert "未就園" in html and "保育所・幼稚園の在籍記録がありません" in html and "判定をまだ" not in html
    with c.sessions.begin() as session:
        session.get(Child, child).signals = []
    html = privacy_disclosure.disclose(c, username="privacy", child_id=child, out=tmp_path / "3",
                                       request_ref="R7-22", pdf=False).html.read_text(encoding="utf-8")
    assert "該当するシグナルはありません" in html


def _profile(c: Container, child: str, household: str, event_id: str | None = None) -> str:
    return WorkerHandlers(c).process("profile", raw(profile_event(child, "40131", household_id=household,
                                                                  event_id=event_id)), where="t").outcome


def test_a_household_opt_out_covers_a_child_who_joins_later_until_withdrawn(c: Container) -> None:
    _profile(c, "sib-1", "h-20")
    privacy_optout.opt_out_household(c, username="privacy", child_id="sib-1", requested_by="保護者",
                                     reason="保護者から世帯について申出", requested_on="2026-05-20")
    # A newborn: casework learns from linkage's profile that it is in the household. It is opted out at once: its
    # record, the message for scoring, an audit entry (system) — and no alert for its flags.
    assert _profile(c, "newborn", "h-20") == "opted_out_household"
    with c.sessions() as session:
        row = session.get(PrivacyOptOut, "newborn")
        assert row is not None and row.active and row.via_household == "h-20" and row.requested_by == "保護者"
        [entry] = session.scalars(select(AuditRecord).where(AuditRecord.child_id == "newborn"))
        assert (entry.action, entry.user_id, entry.outcome) == ("opt_out", "system", "ok")
        assert "via=household" in entry.detail and "保護者から" not in entry.detail
    [message] = _opt_out_messages(c, "newborn")
    event = OptOutV1.model_validate(json.loads(message.payload)["data"])
    assert event.active and event.since == "2026-05-20" and event.requested_by == "保護者"
    assert "申出" not in message.payload  # the free-text reason stays in casework
    assert flagged(c, "newborn", [17]) == "no_alert:opted_out"
    assert _profile(c, "newborn", "h-20") == "profile_updated"  # the next profile changes nothing
    assert len(_opt_out_messages(c, "newborn")) == 1
    assert _profile(c, "elsewhere", "h-21") == "profile_updated"  # another household: not covered
    assert flagged(c, "elsewhere", [17]) == "alert_raised"

    results = privacy_optout.withdraw_household(c, username="privacy", child_id="sib-1", reason="保護者が撤回")
    assert sorted(r.child_id for r in results) == ["newborn", "sib-1"]
    assert _profile(c, "later", "h-20") == "profile_updated"  # after the withdrawal nobody new is covered
    with c.sessions() as session:
        assert session.get(PrivacyOptOut, "later") is None
        assert not session.get(PrivacyOptOut, "newborn").active  # type: ignore[union-attr]
    with pytest.raises(Refused):  # nothing in force any more: refused, audited
        privacy_optout.withdraw_household(c, username="privacy", child_id="sib-1", reason="再度")


def test_a_childs_own_withdrawal_after_the_household_request_is_respected(c: Container) -> None:
    _profile(c, "sib-1", "h-30")
    _profile(c, "sib-2", "h-30")
    privacy_optout.opt_out(c, username="privacy", child_id="sib-2", requested_by="本人", reason="本人の申出")
    privacy_optout.opt_out_household(c, username="privacy", child_id="sib-1", requested_by="保護者",
                                     reason="世帯について申出")
    with pytest.raises(Refused):  # the household's opt-out is in force already
        privacy_optout.opt_out_household(c, username="privacy", child_id="sib-2", requested_by="保護者",
                                         reason="重ねて申出")
    c.clock = lambda: NOW + timedelta(hours=1)
    privacy_optout.withdraw(c, username="privacy", child_id="sib-1", reason="この子については撤回")
    # sib-1 moves out and back in: its own withdrawal came after the household request, so it stays screened
    _profile(c, "sib-1", "h-31", event_id="move-out")
    assert _profile(c, "sib-1", "h-30", event_id="move-in") == "profile_updated"
    with c.sessions() as session:
        assert not session.get(PrivacyOptOut, "sib-1").active  # type: ignore[union-attr]
    # the household withdrawal ends what it covers, not sib-2's own request
    assert privacy_optout.withdraw_household(c, username="privacy", child_id="sib-2", reason="撤回") == []
    with c.sessions() as session:
        own = session.get(PrivacyOptOut, "sib-2")
        assert own is not None and own.active and own.via_household is None
