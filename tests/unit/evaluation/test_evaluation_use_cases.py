"""Evaluation's handlers and worker through the unit-of-work port, on the in-memory fake: no database (issue 12)."""

from __future__ import annotations

from datetime import datetime

import pytest

from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation.factories import alert, envelope, flags, outcome, raw
from tests.unit.evaluation.fakes import FakeContainer

pytestmark = pytest.mark.unit


def test_a_step_before_its_listing_makes_the_case_and_the_listing_completes_it() -> None:
    c = FakeContainer()
    screen = outcome("a1", "k1", "二次スクリーニング", "要アプローチ", "2026-09-03T01:00:00+00:00", items=[17])
    assert process_batch(c, "outcomes", [(raw(screen), "o@0")]) == ["step"]
    case = c.unit.store.case("a1")
    assert case is not None and (case.listed_at, case.tier, case.items, case.reason) == (None, None, "17", None)
    assert c.unit.store.steps == [(screen["id"], "a1", "二次スクリーニング", "要アプローチ", datetime(2026, 9, 3, 1))]

    listing = alert("a1", "k1", ward="40132", items=[18, 17], tier="重点")
    assert process_batch(c, "alerts", [(raw(listing), "a@0"), (raw(listing), "a@1")]) == ["listing", "duplicate"]
    assert (case.listed_at, case.tier, case.items, case.reason, case.ward_code) == (
        datetime(2026, 9, 1), "重点", "17,18", "entered_tier", "40132")  # naive UTC, items as stored text
    assert process_batch(c, "outcomes", [(raw(screen), "o@1")]) == ["duplicate"]
    assert len(c.unit.store.steps) == 1
    assert c.unit.committed == 3  # the worker commits each batch


def test_the_newest_assessment_wins_and_a_late_older_one_only_adds_to_the_items_ever_carried() -> None:
    c = FakeContainer()
    newer = flags("k2", [19], as_of="2026-10-01", tier="見守り")
    older = flags("k2", [18, 19], as_of="2026-09-01", tier="重点")
    assert process_batch(c, "flags", [(raw(newer), "f@0"), (raw(older), "f@1")]) == ["flags", "flags_stale"]
    child = c.unit.store.child("k2")
    assert child is not None
    assert (child.tier, child.items, child.ever_items, child.as_of, child.weights_version) == (
        "見守り", "19", "18,19", "2026-10-01", "w1")
    assert child.event_time == datetime(2026, 9, 1, 0, 0)  # 09:00+09:00 as naive UTC


def test_a_deletion_removes_the_child_and_later_messages_about_it_are_dropped() -> None:
    c = FakeContainer()
    process_batch(c, "alerts", [(raw(alert("a-del", "k-del")), "a@0"), (raw(alert("a-keep", "k-keep")), "a@1")])
    process_batch(c, "flags", [(raw(flags("k-del", [18])), "f@0")])
    deletion = raw(envelope("privacy.person.deleted", {
        "request_id": "req-1", "child_id": "k-del", "scope": "child", "requested_by": "保護者",
        "requested_at": "2026-10-01T10:00:00+09:00", "deleted_in": ["casework"]}, event_id="del-1"))
    assert process_batch(c, "deletions", [(deletion, "d@0"), (deletion, "d@1")]) == ["deleted", "duplicate"]
    assert [x.case_id for x in c.unit.store.cases()] == ["a-keep"] and c.unit.store.children() == []
    assert process_batch(c, "flags", [(raw(flags("k-del", [3])), "f@9")]) == ["deleted"]
    assert process_batch(c, "alerts", [(raw(alert("a-late", "k-del")), "a@9")]) == ["deleted"]
    assert c.unit.store.case("a-late") is None and c.unit.store.child("k-del") is None


def test_poison_is_counted_with_its_reason_and_the_rest_of_the_batch_applied() -> None:
    c = FakeContainer()
    assert process_batch(c, "flags", [(b"{poison", "f@0"), (None, "f@1"), (raw(flags("k3", [3])), "f@2")]) == [
        "skipped:invalid_schema", "skipped:empty_or_oversized", "flags"]
    assert c.metrics.events_failed.labels(kind="flags", reason="invalid_schema")._value.get() == 1
    assert c.metrics.events_processed.labels(kind="flags", outcome="flags")._value.get() == 1
    assert c.unit.store.child("k3") is not None
