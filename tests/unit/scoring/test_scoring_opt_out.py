"""Opt-out (利用停止) in scoring: nothing is published for an opted-out child, its facts still update the state,
the opt-out survives a restart (it is in the state row), and the withdrawal publishes the current flags."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pytest

from contracts.envelope import envelope_dict
from contracts.topics.privacy_optouts import EVENT_TYPE, OptOutV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.service_layer.handlers import decode_fact, handle_fact, sweep_child
from services.scoring.service_layer.opt_out import InvalidOptOut, decode_opt_out, handle_opt_out
from services.scoring.service_layer.state import WORKING
from tests.unit.scoring.factories import FUKUOKA, FakeStore, ForgettingFakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit
TODAY = date(2026, 6, 1)



def _fact(store: FakeStore, data: dict[str, Any], today: date = TODAY) -> tuple[str, Any]:
    event_id, fact = decode_fact(envelope(data), data["child_id"])
    return handle_fact(fact, event_id=event_id, partition=4, store=store, rulebook=FUKUOKA, today=today)


def _residence(child: str) -> dict[str, Any]:
    return fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from="2021-04-01",
                     birth_date="2015-05-01", sex="1", ward_code="40133", resident_since="2021-04-01")


def _assistance(child: str) -> dict[str, Any]:
    return fact_dict("public_assistance", fact_id=f"pa-{child}", child_id=child, relation="household", case_no="C1",
                     valid_from="2026-04-01")


def _allowance(child: str) -> dict[str, Any]:
    return fact_dict("allowance", fact_id=f"al-{child}", child_id=child, relation="guardian",
                     allowance="jido_fuyo_teate", valid_from="2026-05-01")


def _message(child: str, active: bool, at: str) -> bytes:
    opt = OptOutV1(child_id=child, active=active, since="2026-05-20", until=None if active else at[:10],
                   requested_by="保護者", reason_code="request" if active else "withdrawal", changed_at=at)
    return json.dumps(envelope_dict(data=opt, type_=EVENT_TYPE, source="/tsunagu/casework", subject=child)).encode()


def _opt(store: FakeStore, child: str, active: bool, at: str, *, hold: bool = False) -> tuple[str, Any]:
    child_id, opt = decode_opt_out(child.encode(), _message(child, active, at))
    return handle_opt_out(child_id, opt, partition=4, store=store, rulebook=FUKUOKA, today=TODAY,  # type: ignore[arg-type]
                          hold=hold)


def _restart(child: str) -> None:
    """A restart: the parsed copy is gone, the state comes back from the changelog (the store's JSON)."""
    WORKING.take(child, None)


def test_an_opted_out_child_publishes_nothing_until_the_withdrawal_publishes_its_current_flags() -> None:
    store = ForgettingFakeStore()
    _fact(store, _residence("oo"))
    outcome, published = _fact(store, _assistance("oo"))
    assert outcome == "flags_changed" and published.envelope["data"]["raised_items"] == [18]
    assert _opt(store, "oo", True, "2026-06-01T01:00:00+00:00") == ("opted_out", None)
    assert store.states["oo"]["o"] == {"active": True, "at": "2026-06-01T01:00:00+00:00"}
    _restart("oo")  # the opt-out is in the state row: it holds after a restart
    assert _fact(store, _allowance("oo")) == ("opted_out", None)  # would raise item 19: nothing published
    assert "al-oo" in store.states["oo"]["f"]  # ... but the fact is kept for the withdrawal
    assert [f["item"] for f in store.states["oo"]["a"]["flags"]] == [18]  # the last published assessment stays
    for day in (date(2026, 6, 2), date(2026, 7, 1)):  # nor does the clock evaluate or publish anything
        assert sweep_child("oo", store.states["oo"], store=store, rulebook=FUKUOKA, today=day) is None
    outcome, published = _opt(store, "oo", False, "2026-06-02T01:00:00+00:00")
    assert outcome == "withdrawn" and published is not None
    data = ChildFlagsV1.model_validate(published.envelope["data"])
    assert data.raised_items == [19] and data.before is not None
    assert [f.item for f in data.before.flags] == [18] and [f.item for f in data.after.flags] == [18, 19]
    assert published.child_id == "oo" and store.states["oo"]["o"]["active"] is False
    # screened normally again: a redelivered withdrawal and a replayed older opt-out change nothing
    assert _opt(store, "oo", False, "2026-06-02T01:00:00+00:00") == ("stale", None)
    assert _opt(store, "oo", True, "2026-06-01T01:00:00+00:00") == ("stale", None)
    outcome, published = _fact(store, {**_assistance("oo"), "valid_to": "2026-05-31"})
    assert outcome == "flags_changed" and published.envelope["data"]["cleared_items"] == [18]


def test_a_withdrawal_with_nothing_changed_publishes_nothing() -> None:
    store = ForgettingFakeStore()
    _fact(store, _residence("w"))
    _fact(store, _assistance("w"))
    _opt(store, "w", True, "2026-06-01T01:00:00+00:00")
    assert _opt(store, "w", False, "2026-06-01T02:00:00+00:00") == ("withdrawn", None)  # casework holds it already


def test_an_opt_out_before_any_fact_holds_for_the_facts_that_follow() -> None:
    store = ForgettingFakeStore()
    assert _opt(store, "new", True, "2026-06-01T01:00:00+00:00") == ("opted_out", None)
    assert store.states["new"]["p"] == 4  # the message's partition: co-partitioned with the facts
    assert _fact(store, _residence("new")) == ("opted_out", None)
    assert _fact(store, _assistance("new")) == ("opted_out", None)
    outcome, published = _opt(store, "new", False, "2026-06-03T01:00:00+00:00")
    assert outcome == "withdrawn" and published.envelope["data"]["before"] is None
    assert published.envelope["data"]["raised_items"] == [18]


def test_a_withdrawal_during_the_go_live_hold_leaves_the_child_to_the_first_sweep() -> None:
    store = ForgettingFakeStore()
    _fact(store, _residence("h"))
    _opt(store, "h", True, "2026-06-01T01:00:00+00:00")
    _fact(store, _assistance("h"))
    assert _opt(store, "h", False, "2026-06-01T02:00:00+00:00", hold=True) == ("withdrawn", None)
    published = sweep_child("h", store.states["h"], store=store, rulebook=FUKUOKA, today=TODAY)
    assert published is not None and published.envelope["data"]["raised_items"] == [18]


def test_a_tombstone_publishes_nothing_and_forgets_a_row_holding_only_the_opt_out() -> None:
    store = ForgettingFakeStore()
    _opt(store, "t1", True, "2026-06-01T01:00:00+00:00")
    assert decode_opt_out(b"t1", None) == ("t1", None)
    assert handle_opt_out("t1", None, partition=1, store=store, rulebook=FUKUOKA, today=TODAY) == \
        ("tombstone_forgotten", None)
    assert "t1" not in store.states and store.deleted == [("t1", 4)]  # its own partition, not the message's
    _fact(store, _residence("t2"))
    _fact(store, _assistance("t2"))
    _opt(store, "t2", True, "2026-06-01T01:00:00+00:00")
    # the child's deletion (privacy.deletions.v1) forgets the rest; until then it stays opted out and silent
    assert handle_opt_out("t2", None, partition=4, store=store, rulebook=FUKUOKA, today=TODAY) == \
        ("tombstone_kept", None)
    assert store.states["t2"]["o"]["active"] is True
    assert handle_opt_out("t3", None, partition=4, store=store, rulebook=FUKUOKA, today=TODAY) == \
        ("tombstone_not_held", None)


@pytest.mark.parametrize(("key", "value", "reason"), [
    (None, b"{}", "no_key"),
    (b"c1", b"not json", "invalid_schema"),
    (b"other", None, None),  # a tombstone is valid
])
def test_bad_messages_are_refused_with_a_reason(key: bytes | None, value: bytes | None, reason: str | None) -> None:
    if reason is None:
        assert decode_opt_out(key, value) == ("other", None)
        return
    with pytest.raises(InvalidOptOut) as caught:
        decode_opt_out(key, value)
    assert caught.value.reason == reason


def test_a_message_for_another_child_or_of_another_type_is_refused() -> None:
    with pytest.raises(InvalidOptOut, match="key_mismatch"):
        decode_opt_out(b"someone-else", _message("c1", True, "2026-06-01T01:00:00+00:00"))
    wrong = json.loads(_message("c1", True, "2026-06-01T01:00:00+00:00"))
    wrong["type"] = "privacy.person.deleted"
    with pytest.raises(InvalidOptOut, match="unknown_type"):
        decode_opt_out(b"c1", json.dumps(wrong).encode())


def test_the_row_is_written_to_its_own_changelog_partition() -> None:
    store = ChangelogStore("changelog")
    store.put("c1", {"p": 2, "o": {"active": True}}, 2)
    sent: list[tuple[int, bytes, bytes | None]] = []

    async def send(topic: str, value: bytes | None, *, key: bytes, partition: int) -> None:
        sent.append((partition, key, value))

    asyncio.run(store.flush(send))
    assert store.get("c1") == {"p": 2, "o": {"active": True}}
    assert sent == [(2, b'"c1"', b'{"p":2,"o":{"active":true}}')]
