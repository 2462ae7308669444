"""Look-back windows (issue 15): facts past their window stop counting, on the day; the sweep clears the flag."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.scoring.adapters.rulebook import RulebookError, load_rulebook
from services.scoring.config import GUIDELINE_ALL_RULES
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.horizon import next_change
from services.scoring.domain.purge import expired_facts
from services.scoring.domain.retention import Lookback
from services.scoring.service_layer.handlers import decode_fact, handle_fact, sweep_child
from services.scoring.service_layer.state import ChildState
from tests.unit.scoring.factories import (
    FUKUOKA,
    GUIDELINE,
    FakeStore,
    assess,
    envelope,
    fact,
    fact_dict,
    raised,
    residence,
    write_rulebook,
)

pytestmark = pytest.mark.unit

BABY = residence("2025-10-01")
EPDS = fact("postpartum_checkup", fact_id="epds-1", relation="mother", valid_from="2025-10-20",
            checkup_date="2025-10-20", epds_total=12, epds_item10=0)


@pytest.mark.parametrize("book", [GUIDELINE, FUKUOKA], ids=["guideline-all", "fukuoka"])
@pytest.mark.parametrize(("today", "counts"), [
    ("2025-10-20", True), ("2026-09-30", True),  # before the first birthday
    ("2026-10-01", False), ("2026-10-02", False), ("2030-01-01", False),  # at and after it
])
def test_an_epds_counts_until_the_child_turns_one(book: Any, today: str, counts: bool) -> None:
    assert (17 in raised([BABY, EPDS], today, book)) is counts


def test_a_leap_day_baby_turns_one_on_the_first_of_march() -> None:
    baby = residence("2024-02-29")
    epds = fact("postpartum_checkup", relation="mother", valid_from="2024-03-20", checkup_date="2024-03-20",
                epds_total=12, epds_item10=0)
    assert 17 in raised([baby, epds], "2025-02-28") and 17 not in raised([baby, epds], "2025-03-01")


def test_the_evidence_says_until_when_the_fact_counts() -> None:
    [flag] = [f for f in assess([BABY, EPDS], "2026-06-01").flags if f.item == 17]
    assert flag.evidence[0].values["counts_until"] == "2026-10-01"
    assert flag.evidence[0].to_dict()["values"]["epds_total"] == 12


def test_the_horizon_knows_when_a_window_closes() -> None:
    facts = ChildFacts([BABY, EPDS])
    assert next_change(facts, date(2026, 9, 1), GUIDELINE.rules) == date(2026, 10, 1)
    assert next_change(facts, date(2026, 9, 1), GUIDELINE.rules, {"postpartum_checkup"}) == date(2026, 10, 1)
    assert next_change(facts, date(2026, 9, 30), GUIDELINE.rules) == date(2026, 10, 1)


def _deliver(store: FakeStore, data: dict[str, Any], today: date) -> None:
    event_id, incoming = decode_fact(envelope(data), data["child_id"])
    handle_fact(incoming, event_id=event_id, partition=0, store=store, rulebook=FUKUOKA, today=today)


def test_the_sweep_clears_the_flag_on_the_day_the_window_closes() -> None:
    store, day = FakeStore(), date(2026, 6, 1)
    # moved in at 7 months: no infant checkup window of the city had opened for it (item 3 stays out of the way)
    _deliver(store, fact_dict("residence", fact_id="res-b", child_id="b", valid_from="2026-05-01",
                              birth_date="2025-10-01", sex="1", ward_code="40133", resident_since="2026-05-01"), day)
    _deliver(store, fact_dict("postpartum_checkup", fact_id="epds-b", child_id="b", relation="mother",
                              valid_from="2025-10-20", checkup_date="2025-10-20", epds_total=12, epds_item10=0), day)
    flags = store.states["b"]["a"]["flags"]
    assert [f["evidence"][0]["values"]["counts_until"] for f in flags if f["item"] == 17] == ["2026-10-01"]
    assert sweep_child("b", store.states["b"], store=store, rulebook=FUKUOKA, today=date(2026, 9, 30)) is None
    published = sweep_child("b", store.states["b"], store=store, rulebook=FUKUOKA, today=date(2026, 10, 1))
    assert published is not None
    assert published.envelope["data"]["cleared_items"] == [17] and published.envelope["data"]["raised_items"] == []
    assert sweep_child("b", store.states["b"], store=store, rulebook=FUKUOKA, today=date(2026, 10, 2)) is None


def _guideline_with(tmp_path: Path, item: int, lookback: str) -> Any:
    text = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")
    start = text.index(f"[items.{item}]")
    line_start = text.index("lookback = ", start)
    line_end = text.index("\n", line_start)
    return load_rulebook(write_rulebook(tmp_path, text[:line_start] + f"lookback = {lookback}" + text[line_end:]))


CHILD = residence("2015-05-01", resident_since="2021-04-01")


def _protection(valid_to: str | None) -> Any:
    return fact("child_guidance", fact_id="cg-1", valid_from="2021-06-01", valid_to=valid_to,
                involvement="temporary_protection")


@pytest.mark.parametrize(("today", "counts"), [("2025-05-31", True), ("2025-06-01", False), ("2025-06-02", False)])
def test_an_ended_episode_counts_until_n_years_after_it_ended(tmp_path: Path, today: str, counts: bool) -> None:
    book = _guideline_with(tmp_path, 2, "{ years_after_end = 3 }")
    assert (2 in raised([CHILD, _protection("2022-06-01")], today, book)) is counts
    assert 2 in raised([CHILD, _protection("2022-06-01")], today)  # the shipped file: 一時保護「歴」, forever


def test_an_ongoing_episode_counts_while_it_lasts(tmp_path: Path) -> None:
    book = _guideline_with(tmp_path, 2, "{ years_after_end = 3 }")
    [flag] = [f for f in assess([CHILD, _protection(None)], "2032-01-01", book).flags if f.item == 2]
    assert "counts_until" not in flag.evidence[0].values


def test_both_bounds_the_earlier_closes_the_window() -> None:
    lookback = Lookback(until_age_months=12, years_after_end=1, kinds=("child_guidance",))
    ended = _protection("2021-07-01")
    assert lookback.counts_until(ended, date(2021, 1, 1)) == date(2022, 1, 1)
    assert lookback.counts_until(ended, date(2015, 1, 1)) == date(2016, 1, 1)
    assert lookback.counts_until(_protection(None), None) is None


@pytest.mark.parametrize(("item", "lookback", "message"), [
    (3, "{ until_age_months = 60 }", "concludes from a missing record"),
    (16, "{ years_after_end = 2 }", "concludes from a missing record"),
    (2, "{ }", "forever = true"),
    (2, "{ forever = true, years_after_end = 3 }", "forever = true"),
    (2, "{ years_after_end = 0 }", "greater than or equal to 1"),
    (2, "{ forever = false }", "forever = true"),
    (2, "{ months = 3 }", "months"),
])
def test_a_bad_window_is_refused_clearly(tmp_path: Path, item: int, lookback: str, message: str) -> None:
    with pytest.raises(RulebookError, match=message):
        _guideline_with(tmp_path, item, lookback)


def test_without_a_lookback_line_an_item_counts_as_its_rule_says(tmp_path: Path) -> None:
    text = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("lookback = ")]
    book = load_rulebook(write_rulebook(tmp_path, "\n".join(lines) + "\n"))
    assert all(rule.lookback is None for rule in book.rules.rules)
    assert 17 in raised([BABY, EPDS], "2030-01-01", book)


def _without_no_contact(tmp_path: Path) -> Any:
    text = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")
    start = text.index("[signals.no_contact]")
    end = text.index("[weights]")
    return load_rulebook(write_rulebook(tmp_path, text[:start] + text[end:]))


def test_a_fact_is_purgeable_only_once_every_window_over_it_has_closed(tmp_path: Path) -> None:
    book = _without_no_contact(tmp_path)
    facts = ChildFacts([BABY, EPDS])
    assert expired_facts(facts, date(2026, 9, 30), book.rules) == []
    assert expired_facts(facts, date(2026, 10, 1), book.rules) == ["epds-1"]  # never the residence
    assert expired_facts(facts, date(2027, 1, 1), book.rules) == ["epds-1"]
    # the shipped files list 行政との接点なし, which reads the postpartum checkup with no window: kept
    assert expired_facts(facts, date(2030, 1, 1), GUIDELINE.rules) == []
    assert expired_facts(ChildFacts([CHILD, _protection("2022-06-01")]), date(2030, 1, 1), book.rules) == []


def test_a_purged_fact_is_forgotten_but_its_version_remembered() -> None:
    store, day = FakeStore(), date(2026, 6, 1)
    _deliver(store, fact_dict("residence", fact_id="res-b", child_id="b", valid_from="2025-10-01",
                              birth_date="2025-10-01", sex="1", ward_code="40133"), day)
    epds = {**fact_dict("postpartum_checkup", fact_id="epds-b", child_id="b", relation="mother",
                        valid_from="2025-10-20", checkup_date="2025-10-20", epds_total=12, epds_item10=0),
            "version": 3}
    _deliver(store, epds, day)
    state = ChildState.from_json(store.states["b"])
    state.child_facts()  # a parsed view is kept up to date too
    assert state.forget(["epds-b", "unknown"]) == {"postpartum_checkup"}
    assert "epds-b" not in state.facts and state.versions["epds-b"] == 3
    assert state.child_facts().of_kind("postpartum_checkup") == []
    assert ChildState.from_json(state.to_json()).versions["epds-b"] == 3
    _event_id, replay = decode_fact(envelope(epds), "b")
    assert state.is_stale(replay)  # an old replay cannot bring it back
    _event_id, newer = decode_fact(envelope({**epds, "version": 4}), "b")
    assert not state.is_stale(newer)  # a real new version of the record is a new fact


def test_the_sweep_purges_a_fact_past_every_window_and_a_replay_does_not_bring_it_back(tmp_path: Path) -> None:
    book, store, day = _without_no_contact(tmp_path), FakeStore(), date(2026, 6, 1)

    def deliver(data: dict[str, Any], today: date) -> Any:
        event_id, incoming = decode_fact(envelope(data), "b")
        return handle_fact(incoming, event_id=event_id, partition=0, store=store, rulebook=book, today=today)

    deliver(fact_dict("residence", fact_id="res-b", child_id="b", valid_from="2026-05-01", birth_date="2025-10-01",
                      sex="1", ward_code="40133", resident_since="2026-05-01"), day)
    epds = {**fact_dict("postpartum_checkup", fact_id="epds-b", child_id="b", relation="mother",
                        valid_from="2025-10-20", checkup_date="2025-10-20", epds_total=12, epds_item10=0),
            "version": 2}
    assert deliver(epds, day)[0] == "flags_changed"
    assert sweep_child("b", store.states["b"], store=store, rulebook=book, today=date(2026, 9, 30)) is None
    assert "epds-b" in store.states["b"]["f"]  # still counting the day before the first birthday: kept
    published = sweep_child("b", store.states["b"], store=store, rulebook=book, today=date(2026, 10, 1))
    assert published is not None and published.envelope["data"]["cleared_items"] == [17]
    assert "epds-b" not in store.states["b"]["f"] and store.states["b"]["v"]["epds-b"] == 2  # gone, version kept
    assert "res-b" in store.states["b"]["f"]  # the residence never goes
    # a replay of the purged fact (a restart re-reading linkage.facts.v1) is stale: it does not come back
    assert deliver(epds, date(2026, 10, 2)) == ("stale", None)
    assert "epds-b" not in store.states["b"]["f"]
    assert sweep_child("b", store.states["b"], store=store, rulebook=book, today=date(2026, 10, 2)) is None


def test_the_sweep_keeps_what_a_listed_rule_still_reads_without_a_window() -> None:
    store, day = FakeStore(), date(2026, 6, 1)  # the shipped rules: no_contact reads postpartum checkups forever
    _deliver(store, fact_dict("residence", fact_id="res-c", child_id="c", valid_from="2026-05-01",
                              birth_date="2025-10-01", sex="1", ward_code="40133", resident_since="2026-05-01"), day)
    _deliver(store, fact_dict("postpartum_checkup", fact_id="epds-c", child_id="c", relation="mother",
                              valid_from="2025-10-20", checkup_date="2025-10-20", epds_total=12, epds_item10=0), day)
    sweep_child("c", store.states["c"], store=store, rulebook=FUKUOKA, today=date(2026, 10, 1))
    assert "epds-c" in store.states["c"]["f"]
