"""The worker's handlers on a real SQLite store: idempotent, any arrival order, poison skipped and counted."""

from __future__ import annotations

import pytest

from services.evaluation.adapters.repository import load_cases, load_children
from services.evaluation.bootstrap import Container
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation.factories import alert, flags, outcome, raw

pytestmark = pytest.mark.unit


def test_steps_before_their_listing_and_redeliveries_give_one_case(container: Container) -> None:
    listing = alert("a1", "k1", items=[17, 18], tier="重点")
    screen = outcome("a1", "k1", "二次スクリーニング", "要アプローチ", "2026-09-03T01:00:00+00:00", items=[17, 18])
    # The step arrives first (two topics), then the listing, then both again (at-least-once).
    assert process_batch(container, "outcomes", [(raw(screen), "o@0")]) == ["step"]
    assert process_batch(container, "alerts", [(raw(listing), "a@0"), (raw(listing), "a@1")]) == [
        "listing", "duplicate"]
    assert process_batch(container, "outcomes", [(raw(screen), "o@1")]) == ["duplicate"]
    with container.sessions() as s:
        [case] = load_cases(s)
    assert (case.case_id, case.tier, case.items, len(case.steps)) == ("a1", "重点", frozenset({17, 18}), 1)
    assert case.listed_at.isoformat() == "2026-09-01T00:00:00+00:00" and case.screened


def test_latest_flags_win_whatever_the_order_and_items_ever_carried_are_kept(container: Container) -> None:
    newer = flags("k2", [19], as_of="2026-10-01")
    older = flags("k2", [18, 19], as_of="2026-09-01")
    assert process_batch(container, "flags", [(raw(newer), "f@0"), (raw(older), "f@1")]) == ["flags", "flags_stale"]
    with container.sessions() as s:
        [child] = load_children(s)
    assert child.items == frozenset({19}) and child.ever_items == frozenset({18, 19})


def test_poison_is_skipped_with_a_reason(container: Container) -> None:
    outcomes = process_batch(container, "flags", [(b"{poison", "f@0"), (None, "f@1"),
                                                   (raw(flags("k3", [3])), "f@2")])
    assert outcomes == ["skipped:invalid_schema", "skipped:empty_or_oversized", "flags"]
    failed = container.metrics.events_failed.labels(kind="flags", reason="invalid_schema")._value.get()
    assert failed == 1


def test_cleared_items_come_from_the_childs_flags_now(container: Container) -> None:
    process_batch(container, "alerts", [(raw(alert("a4", "k4", items=[17, 18])), "a@0")])
    process_batch(container, "flags", [(raw(flags("k4", [17], as_of="2026-11-01")), "f@0")])
    with container.sessions() as s:
        [case] = load_cases(s)
    assert case.cleared_items == frozenset({18})


def test_the_newest_assessments_connection_signals_are_kept_for_what_if(container: Container) -> None:
    newer = flags("k6", [], as_of="2026-10-01", tier=None, signals=["unenrolled", "moved_in"])
    older = flags("k6", [19], as_of="2026-09-01", signals=["moved_in"])
    assert process_batch(container, "flags", [(raw(newer), "f@0"), (raw(older), "f@1")]) == ["flags", "flags_stale"]
    process_batch(container, "flags", [(raw(flags("k7", [18])), "f@2")])
    with container.sessions() as s:
        children = {c.child_id: c for c in load_children(s)}
    assert children["k6"].signals == frozenset({"unenrolled", "moved_in"}) and children["k6"].items == frozenset()
    assert children["k7"].signals == frozenset()
    cleared = flags("k6", [], as_of="2026-11-01", tier=None, signals=[])
    process_batch(container, "flags", [(raw(cleared), "f@3")])
    with container.sessions() as s:
        assert {c.child_id: c.signals for c in load_children(s)}["k6"] == frozenset()
