"""The simulator's staff agent works a ward's inbox through casework's ordinary API (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from services.casework.adapters.orm import Alert, OutboxMessage
from services.casework.bootstrap import Container
from simulator.casework_staff import OutcomeModel, login, work_inbox
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import PASSWORD, add_user, client_for, seed_child

pytestmark = pytest.mark.integration


@pytest.fixture
def sq(tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    c = make_container(f"sqlite:///{tmp_path}/casework.db", clock)
    yield c
    c.engine.dispose()


def test_staff_agent_records_outcomes_that_match_its_truth(sq: Container) -> None:
    add_user(sq, "higashi", "ward_staff", "40131")
    for n in range(12):
        seed_child(sq, f"c-{n}", "40131" if n < 10 else "40135", items=[18] if n % 2 else [3])
    client = client_for(sq)
    login(client, "higashi", PASSWORD)
    truths = work_inbox(client, OutcomeModel(), seed=3)
    assert len(truths) == 10  # its own ward only
    assert work_inbox(client, OutcomeModel(), seed=3) == []  # nothing left at 一次スクリーニング
    with sq.sessions() as s:
        states = {a.alert_id: a.state for a in s.scalars(select(Alert).where(Alert.ward_code == "40131"))}
        outcomes = [json.loads(m.payload)["data"] for m in s.scalars(
            select(OutboxMessage).where(OutboxMessage.topic == "casework.outcomes.v1"))]
    for truth in truths:
        last = truth.steps[-1]
        assert states[truth.alert_id] == ("プランニング" if last == ("アセスメント", "支援が必要", {}) else "終結")
        mine = [(o["step"], o["result"]) for o in outcomes if o["case_id"] == truth.alert_id]
        assert mine == [(a, r) for a, r, _ in truth.steps]
