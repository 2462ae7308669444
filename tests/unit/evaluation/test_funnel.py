"""The funnel's figures on a hand-made set of cases, each figure computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.evaluation.domain.funnel import funnel_tables, summarise
from services.evaluation.domain.model import APPROACH, ASSESS, CLOSE, CONFER, SCREEN, Case, Step

pytestmark = pytest.mark.unit
T0 = datetime(2026, 9, 1, tzinfo=UTC)


def case(n: int, ward: str, tier: str, items: set[int], *steps: tuple[str, str, int],
         now: set[int] | None = None) -> Case:
    return Case(f"c{n}", f"k{n}", ward, T0, tier, frozenset(items),
                [Step(s, r, T0 + timedelta(days=d)) for s, r, d in steps],
                None if now is None else frozenset(now))


def reached_and_assessed(result: str, contact_day: int, assess_day: int) -> tuple[tuple[str, str, int], ...]:
    return ((SCREEN, "要アプローチ", 1), (CONFER, "決定", 2), (APPROACH, "不在", contact_day - 1),
            (APPROACH, "面会できた", contact_day), (ASSESS, result, assess_day))


CASES = [
    case(1, "40131", "重点", {18, 17}, *reached_and_assessed("支援が必要", 5, 10), now={17}),
    case(2, "40131", "予防", {18}, *reached_and_assessed("支援が必要", 7, 20)),
    case(3, "40132", "予防", {17}, *reached_and_assessed("支援は不要", 9, 12)),
    case(4, "40132", "見守り", {19}, (SCREEN, "既に支援につながっている", 2)),
    case(5, "40132", "見守り", {19}, (SCREEN, "非該当", 3)),
    case(6, "40131", "見守り", {13}),  # listed, nothing recorded yet
    case(7, "40131", "予防", {18, 19}, (SCREEN, "要アプローチ", 1), (CONFER, "決定", 2), (APPROACH, "不在", 4),
         (CLOSE, "連絡不能", 30)),
]


def test_overall_funnel_by_hand() -> None:
    tables = funnel_tables([summarise(c) for c in CASES], tier_order=("重点", "予防", "見守り"))
    o = tables.overall
    assert o.listed == 7
    assert (o.screened.k, o.screened.n) == (6, 7)
    assert (o.approached.k, o.approached.n) == (4, 7)
    assert (o.reached.k, o.reached.n) == (3, 4)  # over those approached
    assert (o.assessed.k, o.ppv.k, o.ppv.n) == (3, 2, 3)
    assert (o.already_supported.k, o.not_applicable.k) == (1, 1)
    assert o.median_days_to_contact == 7 and o.median_days_to_assessment == 12
    assert (o.items_cleared, o.cases_with_cleared_items) == (1, 1)  # case 1 lost item 18
    assert o.lift == pytest.approx(1.0)


def test_groups_by_item_tier_ward_with_lift() -> None:
    tables = funnel_tables([summarise(c) for c in CASES], tier_order=("重点", "予防", "見守り"),
                           min_combination_cases=2)
    item18 = next(r for r in tables.by_item if r.group == "項目18")
    assert item18.listed == 3 and (item18.ppv.k, item18.ppv.n) == (2, 2)
    assert item18.lift == pytest.approx(1.0 / (2 / 3))
    item17 = next(r for r in tables.by_item if r.group == "項目17")
    assert (item17.ppv.k, item17.ppv.n) == (1, 2) and item17.lift == pytest.approx(0.75)
    assert [r.group for r in tables.by_tier] == ["重点", "予防", "見守り"]
    assert [r.listed for r in tables.by_tier] == [1, 3, 3]
    assert {r.group: r.listed for r in tables.by_ward} == {"40131": 4, "40132": 3}
    assert tables.by_combination == []  # no pair is carried by 2 children
    pairs = funnel_tables([summarise(c) for c in CASES], tier_order=("重点",), min_combination_cases=1).by_combination
    assert {r.group: (r.listed, r.ppv.k) for r in pairs} == {"17＋18": (1, 1), "18＋19": (1, 0)}
    assert [r.group for r in tables.by_month] == ["2026-09"]


def test_state_at_follows_the_steps() -> None:
    c = CASES[0]
    assert c.state_at(T0 - timedelta(days=1)) is None
    assert c.state_at(T0 + timedelta(hours=1)) == "一次スクリーニング"
    assert c.state_at(T0 + timedelta(days=3)) == "個別アプローチ"
    assert c.state_at(T0 + timedelta(days=11)) == "プランニング"
    assert CASES[6].state_at(T0 + timedelta(days=31)) == "終結"
