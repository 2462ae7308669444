"""Opt-out (利用停止) in evaluation: while a child's opt-out holds, its rows are kept but the child, its cases and
their steps are left out of every figure; a withdrawal brings them back; stale, redelivered and bad messages
change nothing; a tombstone is counted and ignored; a deletion removes the opt-out with the rest."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from services.evaluation.adapters.orm import CaseRow, ChildRow, OptOutRow, StepRow
from services.evaluation.bootstrap import Container
from services.evaluation.domain.periods import week_of
from services.evaluation.service_layer.reports import cases_in, weekly_report, what_if_report
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation.factories import alert, envelope, flags, outcome, raw

pytestmark = pytest.mark.unit


def opt_out(child_id: str, active: bool, changed_at: str, **overrides: Any) -> bytes:
    data = {"child_id": child_id, "active": active, "since": "2026-09-10",
            "until": None if active else "2026-10-01", "requested_by": "保護者",
            "reason_code": "request" if active else "withdrawal", "changed_at": changed_at} | overrides
    return raw(envelope("privacy.optout.changed", data))


def seed(container: Container, child_id: str, case_id: str, items: list[int]) -> None:
    process_batch(container, "alerts", [(raw(alert(case_id, child_id, items=items)), "a@0")])
    process_batch(container, "outcomes", [(raw(outcome(case_id, child_id, "二次スクリーニング", "要アプローチ",
                                                       "2026-09-03T01:00:00+00:00", items=items)), "o@0")])
    process_batch(container, "flags", [(raw(flags(child_id, items)), "f@0")])


def figures(container: Container) -> tuple[set[str], set[str], int]:
    with container.uow() as uow:
        children = {c.child_id for c in uow.store.children()}
    cases = {c.case_id for c in cases_in(container, None)}
    city = weekly_report(container, week_of(date(2026, 9, 1)))[-1]
    return children, cases, city.this_week.new_alerts


def test_an_opted_out_child_is_left_out_of_every_figure_until_the_withdrawal(container: Container) -> None:
    seed(container, "k-out", "a-out", [18])
    seed(container, "k-in", "a-in", [19])
    assert figures(container) == ({"k-out", "k-in"}, {"a-out", "a-in"}, 2)
    before = what_if_report(container, container.current_weights)

    assert process_batch(container, "optouts", [(opt_out("k-out", True, "2026-09-10T01:00:00+00:00"), "p@0")]) \
        == ["opted_out"]
    assert figures(container) == ({"k-in"}, {"a-in"}, 1)
    assert what_if_report(container, container.current_weights) != before
    # facts keep arriving and are kept (the opt-out is reversible) but still do not count
    process_batch(container, "flags", [(raw(flags("k-out", [17, 18], as_of="2026-09-20",
                                                  time="2026-09-20T09:00:00+09:00")), "f@1")])
    assert figures(container)[0] == {"k-in"}
    with container.sessions() as s:
        assert s.get(ChildRow, "k-out").items == "17,18"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(StepRow)) == 2

    assert process_batch(container, "optouts", [(opt_out("k-out", False, "2026-10-01T01:00:00+00:00"), "p@1")]) \
        == ["withdrawn"]
    assert figures(container) == ({"k-out", "k-in"}, {"a-out", "a-in"}, 2)


def test_stale_redelivered_and_bad_messages_change_nothing(container: Container) -> None:
    seed(container, "k-out", "a-out", [18])
    newer, older = opt_out("k-out", False, "2026-10-01T01:00:00+00:00"), opt_out("k-out", True, "2026-09-10T01:00:00Z")
    assert process_batch(container, "optouts", [(newer, "p@0"), (older, "p@1"), (newer, "p@2")]) \
        == ["withdrawn", "stale", "stale"]
    assert figures(container)[0] == {"k-out"}
    bad = [(opt_out("k-out", True, "not a time"), "p@3"), (b"{}", "p@4"),
           (opt_out("k-out", True, "2026-11-01T00:00:00Z", requested_by="近所の人"), "p@5")]
    assert process_batch(container, "optouts", bad) == ["skipped:invalid_schema"] * 3
    wrong_type = raw(envelope("privacy.something.else", {
        "child_id": "k-out", "active": True, "since": "2026-09-10", "until": None, "requested_by": "本人",
        "reason_code": "request", "changed_at": "2026-12-01T00:00:00Z"}))
    assert process_batch(container, "optouts", [(wrong_type, "p@6")]) == ["skipped:unknown_type"]
    assert figures(container)[0] == {"k-out"}
    failed = container.metrics.events_failed.labels(kind="optouts", reason="invalid_schema")._value.get()
    assert failed == 3


def test_a_tombstone_is_ignored_and_a_deletion_removes_the_opt_out(container: Container) -> None:
    seed(container, "k-del", "a-del", [18])
    process_batch(container, "optouts", [(opt_out("k-del", True, "2026-09-10T01:00:00Z"), "p@0")])
    assert process_batch(container, "optouts", [(None, "p@1")]) == ["tombstone"]
    with container.sessions() as s:
        assert s.get(OptOutRow, "k-del") is not None
    deletion = raw(envelope("privacy.person.deleted", {
        "request_id": "req-1", "child_id": "k-del", "scope": "child", "requested_by": "保護者",
        "requested_at": "2026-10-01T10:00:00+09:00", "deleted_in": ["casework"]}))
    assert process_batch(container, "deletions", [(deletion, "d@0")]) == ["deleted"]
    with container.sessions() as s:
        assert s.get(OptOutRow, "k-del") is None and s.get(CaseRow, "a-del") is None
    # a replay of the compacted topic's old value does not bring the child back
    assert process_batch(container, "optouts", [(opt_out("k-del", False, "2026-11-01T00:00:00Z"), "p@2")]) \
        == ["deleted"]
    with container.sessions() as s:
        assert s.scalar(select(func.count()).select_from(OptOutRow)) == 0
