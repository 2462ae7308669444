"""Retention of decided clerical reviews in linkage (docs/privacy.md "Retention in casework and linkage"): a review
decided and applied at least the period ago leaves the state and the SQLite store with the record's identity it
held; an open review, a decision still waiting for its record, and a recent decision stay; the decision's effect
(the bound key) stays; settings refuse a period shorter than the records' replay window."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from services.linkage.adapters.clock import FixedClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.config import LinkageSettings
from services.linkage.domain.identity import student_key
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.review_retention import expired_reviews, forget_reviews
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import LinkageService
from tests.unit.linkage.factories import reviews, run, student
from tests.unit.linkage.test_decisions import TARO, decide, uncertain_student

pytestmark = pytest.mark.unit
DECIDED = date(2025, 7, 1)  # test_decisions.decide's decided_at


def _open_review(state: LinkageState) -> str:
    [case] = reviews(run(state, student("S20", "フクオカ タロ", "福岡 汰朗", "2016-04-02", address="中央区天神1-1",
                                        school="SC2")))
    return str(case["review_id"])


def test_a_decided_review_goes_after_the_period_and_its_effect_stays() -> None:
    state = LinkageState()
    case = uncertain_student(state)
    assert expired_reviews(state, 90, date(2030, 1, 1)) == []  # open: never
    assert decide(state, case["review_id"], "must_link")[0] == "linked"
    waiting = decide(state, "decided-before-its-record", "must_link", record_id="rec-not-yet-seen")[0]
    assert waiting != "linked" and state.reviews["decided-before-its-record"].decided is None
    assert expired_reviews(state, 90, date(2025, 9, 28)) == []  # 89 days
    assert expired_reviews(state, 90, date(2025, 9, 29)) == [case["review_id"]]
    assert forget_reviews(state, [case["review_id"]]) == 1
    assert case["review_id"] not in state.reviews and "decided-before-its-record" in state.reviews
    owner = state.person_for_key(student_key("S10"))
    assert owner is not None and owner.person_id == TARO  # the decision's binding is in the person, kept


def test_the_purge_removes_the_review_from_the_store_with_the_identity_it_held(tmp_path: Path) -> None:
    state = LinkageState()
    case = uncertain_student(state)
    decide(state, case["review_id"], "must_link")
    still_open = _open_review(state)
    store = SqliteStore(f"sqlite:///{tmp_path / 'linkage.db'}")
    service = LinkageService(state, store, LinkageMetrics(CollectorRegistry()), MatchSettings(), "/test",
                             clock=FixedClock(datetime(2030, 1, 1, tzinfo=UTC)))
    store.acknowledge([seq for seq, _ in service._commit([])])

    def stored_reviews() -> dict[str, str]:
        with store.engine.connect() as conn:
            return {k: v for k, v in conn.exec_driver_sql("SELECT k, v FROM state WHERE tbl = 'review'").all()}

    assert "福岡 汰朗" in json.dumps(stored_reviews(), ensure_ascii=False)
    assert service.purge_expired({}, date(2030, 1, 1), review_days=0) == [] and len(stored_reviews()) == 2  # kept
    assert service.purge_expired({}, date(2030, 6, 30), review_days=1826) == [] and len(stored_reviews()) == 2
    assert service.purge_expired({}, date(2030, 7, 1), review_days=1826) == []  # 1826 days: gone; nothing published
    assert set(stored_reviews()) == {still_open}
    assert set(store.loaded().reviews) == {still_open}
    assert service.metrics.retention_purged.labels("decided_review")._value.get() == 1


def test_settings_refuse_a_period_shorter_than_the_replay_window() -> None:
    assert LinkageSettings().review_retention_days == 1826
    assert LinkageSettings(review_retention_days=0).review_retention_days == 0
    with pytest.raises(ValidationError):
        LinkageSettings(review_retention_days=30)
