"""Issue 18: 行政とのつながり — connection signals beside the 19 items, published in their own list."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.topics.scoring_flags import ChildFlagsV1
from services.scoring.adapters.rulebook import RulebookError, parse_rulebook
from services.scoring.config import GUIDELINE_ALL_RULES
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.rules.connection import KNOWN_TO_GUIDANCE, MOVED_IN, NO_CONTACT, UNENROLLED
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from tests.unit.scoring.factories import GUIDELINE, FakeStore, assess, envelope, fact, fact_dict, residence

pytestmark = pytest.mark.unit

GOOD = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")


def signals(facts: list, today: str, rulebook=GUIDELINE) -> dict[int, str | None]:  # type: ignore[no-untyped-def,type-arg]
    return {s.item: (s.raised_on.isoformat() if s.raised_on else None) for s in assess(facts, today, rulebook).signals}


def nursery(start: str, end: str | None = None):  # type: ignore[no-untyped-def]
    return fact("childcare", valid_from=start, valid_to=end, facility_kind="kindergarten", facility_code="F1")


@pytest.mark.parametrize(("today", "expected"), [
    ("2024-05-09", {}), ("2024-05-10", {UNENROLLED: "2024-05-10"}),  # 満3歳
    ("2027-05-09", {UNENROLLED: "2024-05-10"}), ("2027-05-10", {}),   # 満6歳
])
def test_unenrolled_from_three_to_six(today: str, expected: dict[int, str]) -> None:
    assert {k: v for k, v in signals([residence("2021-05-10")], today).items() if k == UNENROLLED} == expected


def test_a_nursery_clears_unenrolled_and_its_end_dates_it_again() -> None:
    child = residence("2021-05-10")
    assert UNENROLLED not in signals([child, nursery("2023-04-01")], "2025-01-01")
    assert signals([child, nursery("2023-04-01", "2024-09-30")], "2025-01-01")[UNENROLLED] == "2024-09-30"


def test_known_to_guidance_while_a_case_is_open_from_the_start_of_the_unbroken_stretch() -> None:
    child = residence("2015-01-01")
    first = fact("child_guidance", valid_from="2024-01-01", valid_to="2024-06-01", involvement="support")
    second = fact("child_guidance", valid_from="2024-06-01", involvement="youtaikyo")
    assert signals([child, first, second], "2025-01-01")[KNOWN_TO_GUIDANCE] == "2024-01-01"
    assert KNOWN_TO_GUIDANCE not in signals([child, first], "2025-01-01")


def test_moved_in_for_twelve_months_and_born_here_is_not_moved_in() -> None:
    moved = residence("2015-01-01", resident_since="2025-02-10")
    assert signals([moved], "2026-02-09")[MOVED_IN] == "2025-02-10"
    assert MOVED_IN not in signals([moved], "2026-02-10")
    assert MOVED_IN not in signals([residence("2025-02-10", resident_since="2025-02-10")], "2025-03-01")


def test_no_contact_is_off_in_the_shipped_rules_and_counts_months_since_the_last_contact() -> None:
    assert NO_CONTACT not in {r.item for r in GUIDELINE.rules.enabled}
    book = parse_rulebook(GOOD.replace('[signals.no_contact]  # 行政との接点なし: no checkup, nursery, school, '
                                       'allowance or 児童相談 record for N months\nenabled = false',
                                       '[signals.no_contact]\nenabled = true'))
    child = residence("2020-01-10")
    seen = fact("infant_checkup", valid_from="2023-02-01", checkup="3y", checkup_date="2023-02-01", attended=True)
    assert signals([child, seen], "2024-01-31", book).get(NO_CONTACT) is None
    assert signals([child, seen], "2024-02-01", book)[NO_CONTACT] == "2024-02-01"
    assert NO_CONTACT not in signals([child, seen, nursery("2023-04-01")], "2025-01-01", book)


def test_no_contact_can_be_kept_to_young_children() -> None:
    """``until_age_months = 72``: only before 満6歳 (the city's 未就園 focus); the birthday is a next-change day."""
    enabled = GOOD.replace('[signals.no_contact]  # 行政との接点なし: no checkup, nursery, school, '
                           'allowance or 児童相談 record for N months\nenabled = false',
                           '[signals.no_contact]\nenabled = true')
    book = parse_rulebook(enabled.replace("[signals.no_contact.params]\nmonths = 12",
                                          "[signals.no_contact.params]\nmonths = 12\nuntil_age_months = 72"))
    child = residence("2018-01-10")
    seen = fact("infant_checkup", valid_from="2021-02-01", checkup="3y", checkup_date="2021-02-01", attended=True)
    assert signals([child, seen], "2024-01-09", book)[NO_CONTACT] == "2022-02-01"
    assert NO_CONTACT not in signals([child, seen], "2024-01-10", book)  # 満6歳
    [rule] = [r for r in book.rules.rules if r.item == NO_CONTACT]
    facts = ChildFacts.from_raw([fact_dict("residence", fact_id="r", valid_from="2018-01-10",
                                           birth_date="2018-01-10")])
    assert rule.spec.derived_dates is not None
    assert date(2024, 1, 10) in rule.spec.derived_dates(facts, date(2023, 6, 1), rule.params)
    with pytest.raises(RulebookError, match="until_age_months"):
        parse_rulebook(enabled.replace("[signals.no_contact.params]\nmonths = 12",
                                       "[signals.no_contact.params]\nmonths = 12\nuntil_age_months = 0"))
    with pytest.raises(RulebookError, match="months must be at least 1"):
        parse_rulebook(enabled.replace("[signals.no_contact.params]\nmonths = 12",
                                       "[signals.no_contact.params]\nmonths = 0"))


def test_signals_weigh_nothing_unless_the_city_gives_them_a_weight() -> None:
    child = [residence("2021-05-10"), *(fact("infant_checkup", valid_from=d, checkup=c, checkup_date=d, attended=True)
                                        for c, d in (("3-4m", "2021-09-01"), ("1y6m", "2022-12-01")))]
    assessment = assess(child, "2025-01-01")
    assert assessment.items == frozenset() and assessment.score == 0 and assessment.tier is None
    weighted = parse_rulebook(GOOD.replace("[weights.items]", "[weights.signals]\nunenrolled = 2.0\n\n[weights.items]"))
    assert assess(child, "2025-01-01", weighted).tier == "予防"


def test_a_bad_signal_is_refused() -> None:
    with pytest.raises(RulebookError, match="unknown signal"):
        parse_rulebook(GOOD.replace("[weights.items]", "[weights.signals]\nmishuen = 1.0\n\n[weights.items]"))
    with pytest.raises(RulebookError, match=r"signals\.moved_in\.params"):
        parse_rulebook(GOOD.replace("months = 12\n\n[signals.no_contact]", "months = 0\n\n[signals.no_contact]"))


def test_published_in_their_own_list_never_as_flags() -> None:
    store = FakeStore()
    data = fact_dict("residence", fact_id="r1", valid_from="2015-01-01", birth_date="2015-01-01", sex="1",
                     ward_code="40131", resident_since="2025-02-10")
    data["child_id"] = "child-s"
    event_id, decoded = decode_fact(envelope(data), "child-s")
    _, published = handle_fact(decoded, event_id=event_id, partition=0, store=store, rulebook=GUIDELINE,
                               today=date(2025, 3, 1))
    assert published is not None
    message = ChildFlagsV1.model_validate(published.envelope["data"])
    assert message.after.flags == [] and [s.code for s in message.after.signals] == ["moved_in"]
    assert message.raised_items == [] and message.after.signals[0].evidence
