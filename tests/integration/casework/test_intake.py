"""Flag and profile messages applied to a real database: one alert per situation, replays change nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from services.casework.adapters.orm import Alert, CaseStep, Child, OutboxMessage
from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.integration


def alerts(container: Container) -> list[Alert]:
    with container.sessions() as s:
        return list(s.scalars(select(Alert).order_by(Alert.seq)))


def test_a_flag_raises_one_alert_and_a_replay_raises_nothing(container: Container) -> None:
    worker = WorkerHandlers(container)
    event = raw(flags_event("c-1", "40131", [], [3], tier_after="見守り"))
    assert worker.process("flags", event, where="t").outcome == "alert_raised"
    assert worker.process("flags", event, where="t").outcome == "duplicate"
    [alert] = alerts(container)
    assert (alert.ward_code, alert.items, alert.state) == ("40131", [3], "一次スクリーニング")
    with container.sessions() as s:
        [out] = s.scalars(select(OutboxMessage)).all()
    payload = json.loads(out.payload)
    assert out.topic == "casework.alerts.v1" and out.key == "c-1"
    assert payload["id"] == alert.alert_id and payload["data"]["ward_code"] == "40131"


def test_the_same_change_re_emitted_under_a_new_event_id_raises_nothing(container: Container) -> None:
    worker = WorkerHandlers(container)
    worker.process("flags", raw(flags_event("c-2", "40132", [], [17], tier_after="予防")), where="t")
    outcome = worker.process("flags", raw(flags_event("c-2", "40132", [], [17], tier_after="予防")), where="t")
    assert outcome.outcome in ("duplicate", "case_updated", "no_alert:no_trigger")
    assert len(alerts(container)) == 1


def test_cleared_flags_update_the_child_and_the_alert_stays_as_history(container: Container) -> None:
    worker = WorkerHandlers(container)
    worker.process("flags", raw(flags_event("c-3", "40131", [], [3, 9], tier_after="予防")), where="t")
    worker.process("flags", raw(flags_event("c-3", "40131", [3, 9], [9], tier_before="予防", tier_after="見守り")),
                   where="t")
    [alert] = alerts(container)
    with container.sessions() as s:
        child = s.get(Child, "c-3")
        steps = [st.action for st in s.scalars(select(CaseStep).where(CaseStep.alert_id == alert.alert_id))]
    assert child is not None and child.current_items == [9] and child.tier == "見守り"
    assert alert.items == [3, 9]
    assert steps == ["一次スクリーニング", "フラグ変化"]


def test_an_open_alert_follows_its_child_up_a_tier(container: Container) -> None:
    """Items arriving one after another (a burst of records): the alert raised at 見守り says 重点 once the child is."""
    worker = WorkerHandlers(container)
    worker.process("flags", raw(flags_event("c-9", "40131", None, [15], tier_after="見守り")), where="t")
    assert worker.process("flags", raw(flags_event("c-9", "40131", [15], [15, 16, 17, 19], tier_before="見守り",
                                                   tier_after="重点")), where="t").outcome == "case_updated"
    [alert] = alerts(container)
    with container.sessions() as s:
        [step] = s.scalars(select(CaseStep).where(CaseStep.alert_id == alert.alert_id,
                                                  CaseStep.action == "フラグ変化")).all()
    assert alert.tier == "重点"
    assert step.details == {"gained": "16,17,19", "cleared": "", "tier": "見守り→重点"}


def test_a_move_to_another_ward_transfers_the_open_case(container: Container) -> None:
    worker = WorkerHandlers(container)
    worker.process("profile", raw(profile_event("c-4", "40131")), where="t")
    worker.process("flags", raw(flags_event("c-4", "40131", [], [17], tier_after="予防")), where="t")
    assert worker.process("profile", raw(profile_event("c-4", "40135")), where="t").outcome == "alert_raised"
    old, new = alerts(container)
    assert (old.ward_code, old.state) == ("40131", "移管")
    assert (new.ward_code, new.reason, new.items) == ("40135", "moved_ward", [17])


def test_invalid_messages_are_skipped_with_a_reason(container: Container) -> None:
    worker = WorkerHandlers(container)
    assert worker.process("flags", b"\xff not json", where="t").outcome == "skipped:invalid_schema"
    assert worker.process("flags", b'{"id": "x"}', where="t").outcome == "skipped:invalid_schema"
    assert worker.process("flags", None, where="t").outcome == "skipped:empty_or_oversized"
    bad_item = flags_event("c-5", "40131", [], [3])
    bad_item["data"]["after"]["flags"][0]["item"] = 42
    assert worker.process("flags", raw(bad_item), where="t").outcome == "skipped:invalid_schema"
    assert alerts(container) == []


def test_a_child_supported_by_child_guidance_gets_no_alert(container: Container) -> None:
    worker = WorkerHandlers(container)
    event = flags_event("c-6", "40133", [], [3], tier_after="重点", child_guidance=True)
    assert worker.process("flags", raw(event), where="t").outcome == "no_alert:child_guidance"
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        child = s.get(Child, "c-6")
        assert child is not None and child.supported_by_child_guidance


def test_a_batch_with_repeats_and_poison_equals_one_by_one(container: Container) -> None:
    worker = WorkerHandlers(container)
    raise_3 = raw(flags_event("c-7", "40131", [], [3], tier_after="見守り"))
    clear_3 = raw(flags_event("c-7", "40131", [3], [], tier_before="見守り"))
    results = worker.process_batch("flags", [
        (raise_3, "a"), (raise_3, "b"), (b"{", "c"), (clear_3, "d"),
        (raw(flags_event("c-8", "40132", [], [17], tier_after="予防")), "e"),
    ])
    assert [r.outcome for r in results] == [
        "alert_raised", "duplicate", "skipped:invalid_schema", "case_updated", "alert_raised"]
    assert [(a.child_id, a.ward_code) for a in alerts(container)] == [("c-7", "40131"), ("c-8", "40132")]
    assert [r.outcome for r in worker.process_batch("flags", [(raise_3, "again"), (clear_3, "again")])] == [
        "duplicate", "duplicate"]
    with container.sessions() as s:
        child = s.get(Child, "c-7")
        assert child is not None and child.current_items == []


def test_a_child_merged_by_linkage_hands_its_open_case_over(container: Container) -> None:
    worker = WorkerHandlers(container)
    worker.process("flags", raw(flags_event("c-dup", "40131", [], [3], tier_after="見守り")), where="t")
    merged = profile_event("c-dup", "40131")
    merged["data"].update(status="merged", merged_into="c-main")
    assert worker.process("profile", raw(merged), where="t").outcome == "case_merged"
    [alert] = alerts(container)
    assert alert.state == "移管"
    with container.sessions() as s:
        steps = s.scalars(select(CaseStep).where(CaseStep.alert_id == alert.alert_id).order_by(CaseStep.id.desc()))
        last = steps.first()
    assert last is not None and last.action == "名寄せ統合" and last.details == {"merged_into": "c-main"}


def test_a_child_flagged_before_its_ward_was_known_is_alerted_when_the_profile_comes(container: Container) -> None:
    """Issue 20: the listing waits on the child (a JSON column) until a ward is known, on both databases."""
    worker = WorkerHandlers(container)
    first = raw(flags_event("c-late", None, None, [15, 17], tier_after="見守り"))
    assert worker.process("flags", first, where="t").outcome == "no_alert:no_ward"
    assert worker.process("flags", raw(flags_event("c-late", None, [15, 17], [15, 17, 18], tier_before="見守り",
                                                   tier_after="予防")), where="t").outcome == "no_alert:no_ward"
    late = profile_event("c-late", "40136", ward_since="2026-04-01", version=1)
    assert worker.process("profile", raw(late), where="t").outcome == "alert_raised"
    [alert] = alerts(container)
    assert (alert.ward_code, alert.tier, alert.items, alert.reason) == ("40136", "予防", [15, 17], "entered_tier")
    assert worker.process("profile", raw(late), where="t").outcome == "duplicate"
    with container.sessions() as s:
        child = s.get(Child, "c-late")
        assert child is not None and child.pending_alert is None and child.ward_code == "40136"
