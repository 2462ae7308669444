"""The use cases through fakes: facts arrive, the clock moves; messages only on change, with before/after."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from contracts.envelope import Envelope
from contracts.topics.scoring_flags import ChildFlagsV1
from services.scoring.service_layer.handlers import (
    InvalidFactMessage,
    Published,
    decode_fact,
    handle_fact,
    sweep_child,
)
from tests.unit.scoring.factories import FUKUOKA, FakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)


def deliver(store: FakeStore, data: dict[str, Any], today: date = TODAY, event_id: str | None = None,
            partition: int = 3) -> Published | None:
    event_id, fact = decode_fact(envelope(data, event_id=event_id), data["child_id"])
    _outcome, published = handle_fact(fact, event_id=event_id, partition=partition, store=store, rulebook=FUKUOKA,
                                      today=today)
    return published


def residence(child: str, ward: str = "40133", born: str = "2015-05-01",
              since: str | None = "2021-04-01") -> dict[str, Any]:
    """By default a school child who moved in after the infant checkups (so item 3 stays out of the way)."""
    return fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from=since or born,
                     birth_date=born, sex="1", ward_code=ward, resident_since=since)


def assistance(child: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("valid_from", "2026-04-01")
    return fact_dict("public_assistance", fact_id="pa-C1", child_id=child, relation="household", case_no="C1",
                     **kwargs)


def test_household_assistance_raises_item_18_once_with_evidence_and_versions() -> None:
    store = FakeStore()
    assert deliver(store, residence("c1")) is None  # nothing to say about a child without flags
    published = deliver(store, assistance("c1"))
    assert published is not None
    message = Envelope[ChildFlagsV1].model_validate(published.envelope)
    assert message.type == "scoring.flags.changed" and message.subject == "c1"
    flags = message.data
    assert flags.before is None and flags.raised_items == [18] and flags.cleared_items == []
    assert flags.ward_code == "40133" and flags.as_of == "2026-06-01"
    assert flags.rules_version == "fukuoka-2025.2" and flags.weights_version == "fukuoka-w-2025.1"
    [flag] = flags.after.flags
    assert flag.raised_on == "2026-04-01" and flag.rule_version == "1.0"
    assert flag.evidence[0].fact_id == "pa-C1" and flag.evidence[0].relation == "household"
    assert flags.after.tier == "見守り"


def test_a_redelivered_fact_changes_nothing_and_writes_nothing() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    first = assistance("c1")
    assert deliver(store, first) is not None
    writes = store.writes
    assert deliver(store, first) is None
    assert store.writes == writes


def test_retraction_and_ending_clear_the_flag_with_before_and_after() -> None:
    for change in ({"status": "retracted"}, {"valid_to": "2026-06-01"}):
        store = FakeStore()
        deliver(store, residence("c1"))
        deliver(store, assistance("c1"))
        published = deliver(store, assistance("c1", **change))
        assert published is not None, change
        flags = published.envelope["data"]
        assert flags["cleared_items"] == [18] and flags["raised_items"] == []
        assert [f["item"] for f in flags["before"]["flags"]] == [18] and flags["after"]["flags"] == []
        assert deliver(store, assistance("c1", **change)) is None


def test_an_unrelated_fact_does_not_publish_but_a_ward_move_of_a_flagged_child_does() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    deliver(store, assistance("c1"))
    assert deliver(store, fact_dict("childcare", child_id="c1", valid_from="2026-04-01")) is None
    moved = deliver(store, residence("c1", ward="40137"))
    assert moved is not None
    data = moved.envelope["data"]
    assert data["ward_code"] == "40137" and data["raised_items"] == [] and data["cleared_items"] == []


def test_a_mothers_epds_reaches_each_sibling_it_concerns() -> None:
    store = FakeStore()
    for child in ("twin-a", "twin-b"):
        deliver(store, residence(child, born="2026-03-01", since=None))
        epds = fact_dict("postpartum_checkup", fact_id=f"epds-M1-{child}", child_id=child, relation="mother",
                         valid_from="2026-04-01", checkup_date="2026-04-01", epds_total=12, epds_item10=0)
        published = deliver(store, epds)
        assert published is not None and published.envelope["data"]["raised_items"] == [17]


def test_the_clock_raises_a_missed_checkup_with_no_new_event_and_only_once() -> None:
    store = FakeStore()
    deliver(store, residence("baby", born="2025-12-10", since=None), today=date(2026, 6, 9))
    state = store.get("baby")
    assert state is not None
    assert sweep_child("baby", state, store=store, rulebook=FUKUOKA, today=date(2026, 6, 9)) is None
    published = sweep_child("baby", store.states["baby"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 10))
    assert published is not None
    data = published.envelope["data"]
    assert data["raised_items"] == [3] and data["as_of"] == "2026-06-10"
    assert sweep_child("baby", store.states["baby"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 10)) is None
    assert sweep_child("baby", store.states["baby"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 11)) is None


def test_benefits_that_end_in_the_future_clear_when_the_day_comes() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    deliver(store, assistance("c1", valid_to="2026-06-15"))
    assert sweep_child("c1", store.states["c1"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 14)) is None
    published = sweep_child("c1", store.states["c1"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 15))
    assert published is not None and published.envelope["data"]["cleared_items"] == [18]


def test_the_same_trigger_gives_the_same_event_id() -> None:
    a, b = FakeStore(), FakeStore()
    for store in (a, b):
        deliver(store, residence("c1"), event_id="e-1")
    pa, pb = deliver(a, assistance("c1"), event_id="e-2"), deliver(b, assistance("c1"), event_id="e-2")
    assert pa is not None and pb is not None and pa.envelope["id"] == pb.envelope["id"]


@pytest.mark.parametrize(("raw", "key", "reason"), [
    (b"{not json", None, "invalid_json"),
    (envelope({"child_id": "c1"}), None, "invalid_schema"),
    (envelope(fact_dict("no_such_kind", child_id="c1")), None, "invalid_schema"),
    (envelope(fact_dict("residence", child_id="c1"), type_="linkage.child.changed"), None, "unknown_type"),
    (envelope(fact_dict("residence", child_id="secret-child")), b"other-child", "key_mismatch"),
    (None, None, "empty"),
])
def test_unusable_messages_are_refused_with_a_reason_and_no_values(raw: bytes | None, key: bytes | None,
                                                                   reason: str) -> None:
    with pytest.raises(InvalidFactMessage) as refused:
        decode_fact(raw, key)
    assert refused.value.reason == reason
    assert "secret-child" not in str(refused.value)


def test_a_flag_on_undated_facts_keeps_the_day_it_was_first_seen() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    first = deliver(store, assistance("c1", valid_from=None, record_date=None), today=date(2026, 6, 1))
    assert first is not None and first.envelope["data"]["after"]["flags"][0]["raised_on"] == "2026-06-01"
    assert sweep_child("c1", store.states["c1"], store=store, rulebook=FUKUOKA, today=date(2026, 6, 2)) is None
    again = deliver(store, fact_dict("allowance", child_id="c1", relation="guardian", valid_from="2026-01-01",
                                     allowance="jido_fuyo_teate"), today=date(2026, 6, 3))
    assert again is not None
    assert [f["raised_on"] for f in again.envelope["data"]["after"]["flags"]] == ["2026-06-01", "2026-01-01"]
