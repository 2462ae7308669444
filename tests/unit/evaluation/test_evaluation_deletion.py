"""Deletion on request in evaluation: the child's rows go, later messages about it are dropped, redelivery is a
no-op, and other children are untouched."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.evaluation.adapters.orm import CaseRow, ChildRow, ChildSignalsRow, DeletedChild, StepRow
from services.evaluation.adapters.repository import load_cases, load_children
from services.evaluation.bootstrap import Container
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation.factories import alert, envelope, flags, outcome, raw

pytestmark = pytest.mark.unit


def _deletion(child_id: str, event_id: str = "del-ev-1") -> bytes:
    return raw(envelope("privacy.person.deleted", {
        "request_id": "req-1", "child_id": child_id, "scope": "child", "requested_by": "保護者",
        "requested_at": "2026-10-01T10:00:00+09:00", "deleted_in": ["casework"]}, event_id=event_id))


def _seed(container: Container, child_id: str, case_id: str) -> None:
    process_batch(container, "alerts", [(raw(alert(case_id, child_id)), "a@0")])
    process_batch(container, "outcomes", [(raw(outcome(case_id, child_id, "二次スクリーニング", "要アプローチ",
                                                       "2026-09-03T01:00:00+00:00")), "o@0")])
    process_batch(container, "flags", [(raw(flags(child_id, [18], signals=["unenrolled"])), "f@0")])


def test_a_deletion_removes_the_childs_rows_and_keeps_only_a_hash(container: Container) -> None:
    _seed(container, "k-del", "a-del")
    _seed(container, "k-keep", "a-keep")
    assert process_batch(container, "deletions", [(_deletion("k-del"), "d@0")]) == ["deleted"]
    with container.sessions() as s:
        assert [c.child_id for c in load_children(s)] == ["k-keep"]
        assert [c.case_id for c in load_cases(s)] == ["a-keep"]
        assert s.scalar(select(func.count()).select_from(StepRow)) == 1
        assert s.get(CaseRow, "a-del") is None and s.get(ChildRow, "k-del") is None
        assert s.get(ChildSignalsRow, "k-del") is None and s.get(ChildSignalsRow, "k-keep") is not None
        [hashed] = s.scalars(select(DeletedChild.child_hash)).all()
        assert "k-del" not in hashed and len(hashed) == 64


def test_redelivery_and_late_messages_change_nothing(container: Container) -> None:
    _seed(container, "k-del", "a-del")
    process_batch(container, "deletions", [(_deletion("k-del"), "d@0")])
    assert process_batch(container, "deletions", [(_deletion("k-del"), "d@1")]) == ["duplicate"]
    assert process_batch(container, "deletions", [(_deletion("k-del", "del-ev-2"), "d@2")]) == ["deleted"]
    late = [(raw(flags("k-del", [3])), "f@9"), (raw(alert("a-late", "k-del")), "a@9")]
    assert process_batch(container, "flags", late[:1]) == ["deleted"]
    assert process_batch(container, "alerts", late[1:]) == ["deleted"]
    with container.sessions() as s:
        assert load_children(s) == [] and load_cases(s) == []
        assert s.scalar(select(func.count()).select_from(DeletedChild)) == 1
