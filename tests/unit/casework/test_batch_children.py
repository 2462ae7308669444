"""The worker's batch writes the children table with Core (adapters/repository.py's ``BatchChild``): the database
must hold what the ORM path writes for the same messages, every column of every row as SQLite stores it — new and
stored children, several messages about one child in one batch. One thing is allowed to differ: a JSON column's
None is stored as JSON null or as SQL NULL depending on whether it was assigned in the transaction that created the
row, so it depends on how messages fall into transactions (it did with the ORM too); every reader takes both as None
(``held_children`` checks for both), and the dump reads both as NULL."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from contracts.envelope import Envelope
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.adapters.repository import BatchChild
from services.casework.service_layer.intake import handle_flags, handle_profile
from tests.unit.casework.sqlite_intake import NOW, Intake, Message
from tests.unit.casework.test_intake_order import POLICY, child_streams, interleave

pytestmark = pytest.mark.unit
TABLES = ("children", "alerts", "case_steps", "outbox", "processed_events")


def orm_path(messages: list[Message]) -> Intake:
    """Each message in a transaction of its own, without preload: every row through the ORM."""
    intake = Intake(POLICY)
    for kind, message in messages:
        event = Envelope[ChildFlagsV1 if kind == "flags" else ChildProfileV1].model_validate_json(  # type: ignore[misc]
            json.dumps(message, ensure_ascii=False))
        handler = handle_flags if kind == "flags" else handle_profile
        with intake.uow() as uow:
            handler(event, event_key=f"{kind}:{event.id}", uow=uow, policy=POLICY, now=NOW)  # type: ignore[arg-type]
            uow.commit()
    return intake


def dump(intake: Intake) -> dict[str, list[tuple[Any, ...]]]:
    """Every row as SQLite stores it (JSON as its text), JSON null read as NULL (the module's docstring)."""
    with intake.engine.connect() as connection:
        return {table: [tuple(None if value == "null" else value for value in row)
                        for row in connection.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in TABLES}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), n_children=st.integers(1, 3))
def test_a_batch_writes_exactly_what_the_orm_writes(data: Any, n_children: int) -> None:
    family = [data.draw(child_streams(f"c-{n}")) for n in range(n_children)]
    order = interleave(data, [s for c in family for s in (c.flags, c.profiles)])
    reference = orm_path(order)
    expected = dump(reference)
    reference.close()
    batched = Intake(POLICY)
    batched.run(order, data.draw(st.lists(st.integers(1, 6), max_size=6)))
    got = dump(batched)
    batched.close()
    assert got == expected


def test_a_stored_child_writes_only_what_changed() -> None:
    stored = {name: None for name in BatchChild.__slots__ if not name.startswith("_")}
    child = BatchChild({**stored, "child_id": "c-1", "tier": "予防", "signals": None, "flags": []})
    child.tier = "予防"  # the same value: nothing to write
    child.signals = None
    child.flags = [{"item": 4}]
    child.score = 1.5
    child.score = None  # back to what was stored
    assert child.row_changes() == {"flags": [{"item": 4}]}


def test_a_new_child_writes_what_was_assigned_even_none() -> None:
    child = BatchChild(child_id="c-2", status="resident")
    child.pending_alert = None  # JSON null, as the ORM writes an assigned None
    assert child.row_changes() == {"child_id": "c-2", "status": "resident", "pending_alert": None}
