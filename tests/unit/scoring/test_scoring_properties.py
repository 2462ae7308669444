"""Properties: flags are a pure function of the facts and the date, however the facts arrived."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.domain.evaluation import evaluate
from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.signals import public_assessment
from services.scoring.service_layer.handlers import decode_fact, handle_fact, sweep_child
from services.scoring.service_layer.state import ChildState
from tests.unit.scoring.factories import GUIDELINE, FakeStore, envelope
from tests.unit.scoring.strategies import DAYS, FAST, fact_dicts

pytestmark = pytest.mark.unit

def _final_facts(updates: list[dict[str, Any]]) -> list[Fact]:
    current: dict[str, dict[str, Any]] = {}
    for update in updates:
        if update["status"] == "retracted":
            current.pop(update["fact_id"], None)
        else:
            current[update["fact_id"]] = update
    return [Fact.from_dict(f) for f in current.values()]




@FAST
@given(st.lists(fact_dicts(), max_size=12), DAYS, st.randoms(use_true_random=False))
def test_the_assessment_depends_on_the_facts_and_the_date_only(updates: list[dict[str, Any]], today: date,
                                                               rng: Any) -> None:
    facts = _final_facts(updates)
    shuffled = list(facts)
    rng.shuffle(shuffled)
    first = evaluate(ChildFacts(facts), today, GUIDELINE.rules, GUIDELINE.weights)
    assert evaluate(ChildFacts(shuffled), today, GUIDELINE.rules, GUIDELINE.weights) == first
    assert evaluate(ChildFacts(facts), today, GUIDELINE.rules, GUIDELINE.weights) == first
    assert all(flag.evidence for flag in first.flags)
    assert first.tier is None if not first.flags else first.score > 0


def test_a_residence_retracted_under_an_unchanged_assessment_publishes_nothing() -> None:
    """Found by the property below: the child's household 生活保護 keeps item 18 raised while its residence fact
    is retracted (linkage split a record). The ward became unknown, nothing else changed: no message (casework
    keeps the ward it knows); the residence coming back in the same ward says nothing either."""
    def fact(kind: str, status: str = "asserted", **attributes: Any) -> dict[str, Any]:
        return {"fact_id": f"{kind}-0", "child_id": "child-p", "kind": kind,
                "relation": "household" if kind == "public_assistance" else "self", "status": status,
                "source_system": "test", "record_id": "r", "record_date": None, "valid_from": None,
                "valid_to": None, "attributes": attributes}

    residence = {"birth_date": "2018-01-01", "sex": "1", "ward_code": "40131", "resident_since": None}
    store, published = FakeStore(), []
    for number, update in enumerate([fact("public_assistance", case_no="C1"), fact("residence", **residence),
                                     fact("residence", "retracted", **residence), fact("residence", **residence)]):
        event_id, decoded = decode_fact(envelope(update, event_id=f"e{number}"), "child-p")
        _, message = handle_fact(decoded, event_id=event_id, partition=0, store=store, rulebook=GUIDELINE,
                                 today=date(2018, 1, 1))
        published += [message.envelope["data"]] if message else []
    assert [(m["raised_items"], m["ward_code"]) for m in published] == [([18], None), ([], "40131")]


@FAST
@given(st.lists(fact_dicts(), max_size=12), DAYS, st.lists(st.integers(0, 40), max_size=3))
def test_the_stream_ends_where_a_fresh_evaluation_of_the_final_facts_does(updates: list[dict[str, Any]],
                                                                           today: date, later: list[int]) -> None:
    """Facts arriving in any sequence (with updates, duplicates and retractions), then the clock moving on:
    what was last published equals the evaluation of the final facts on the final day, and no message
    repeats the previous one. The final day is at least one day after the facts: an absence (items 3, 16) is
    raised by the clock the day after, never by an arriving fact."""
    store = FakeStore()
    published = []
    for number, update in enumerate([*updates, *updates[-2:]]):  # the last two again: redelivery
        event_id, fact = decode_fact(envelope(update, event_id=f"e{number}"), update["child_id"])
        _, message = handle_fact(fact, event_id=event_id, partition=0, store=store, rulebook=GUIDELINE, today=today)
        published += [message] if message else []
    day = today
    for step in [*later, 1]:
        day = day + timedelta(days=step)
        if (raw := store.get("child-p")) is not None:
            message = sweep_child("child-p", raw, store=store, rulebook=GUIDELINE, today=day)
            published += [message] if message else []
    expected = public_assessment(  # as published: connection signals in their own list
        evaluate(ChildFacts(_final_facts(updates)), day, GUIDELINE.rules, GUIDELINE.weights).to_dict())
    assert expected is not None
    state = ChildState.from_json(store.get("child-p"))
    if published:
        last = published[-1].envelope["data"]["after"]
        for key in ("flags", "signals"):
            for mine, fresh in zip(last.get(key, ()), expected.get(key, ()), strict=False):
                if fresh["raised_on"] is None:  # undated facts: dated when first seen, which only the stream knows
                    fresh["raised_on"] = mine["raised_on"]
        assert last == expected
        assert public_assessment(state.last_assessment) == expected
    else:
        assert not expected["flags"]
    if state.evaluated_on is not None:  # the stored next-change day is never later than the true one
        from services.scoring.domain.horizon import next_change

        fresh = next_change(ChildFacts(_final_facts(updates)), date.fromisoformat(state.evaluated_on),
                            GUIDELINE.rules)
        assert fresh is None or (state.next_review_on is not None and state.next_review_on <= fresh.isoformat())
    for message in published:
        data = message.envelope["data"]
        assert data["before"] != data["after"] or data["ward_code"] is not None


@FAST
@given(st.lists(fact_dicts(), max_size=12), DAYS, st.integers(1, 800))
def test_nothing_changes_before_the_next_change_date(updates: list[dict[str, Any]], today: date,
                                                      ahead: int) -> None:
    """The clock sweep skips a child until next_change: no rule may change its mind before that day."""
    from services.scoring.domain.horizon import next_change

    facts = ChildFacts(_final_facts(updates))
    upcoming = next_change(facts, today, GUIDELINE.rules)
    later = today + timedelta(days=ahead)
    if upcoming is not None:
        assert upcoming > today
        later = min(later, upcoming - timedelta(days=1))
    now = evaluate(facts, today, GUIDELINE.rules, GUIDELINE.weights)
    assert evaluate(ChildFacts(_final_facts(updates)), later, GUIDELINE.rules, GUIDELINE.weights) == now
