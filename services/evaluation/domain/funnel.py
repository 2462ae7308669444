"""The list's funnel per group: listed → screened → approached → reached → assessed → needing support.

The positive predictive value (PPV) of the list is "needing support" over "assessed": of the children the ward
could assess, how many did need support. Lift compares a group's PPV with the PPV of every listed child.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations

from services.evaluation.domain.model import Case
from services.evaluation.domain.periods import month_key
from services.evaluation.domain.stats import Proportion, lift, wilson


@dataclass(frozen=True)
class CaseSummary:
    ward_code: str
    tier: str
    month: str
    items: frozenset[int]
    screened: bool
    approached: bool
    reached: bool
    assessed: bool
    needs_support: bool
    already_supported: bool
    not_applicable: bool
    days_to_contact: float | None
    days_to_assessment: float | None
    cleared: int  # items at listing since cleared


def summarise(case: Case) -> CaseSummary:
    return CaseSummary(
        case.ward_code, case.tier_label, month_key(case.listed_at), case.items, case.screened, case.approached,
        case.reached, case.assessed, case.needs_support, case.already_supported, case.not_applicable,
        case.days_to(case.reached_at), case.days_to(case.assessed_at), len(case.cleared_items))


@dataclass(frozen=True)
class FunnelRow:
    group: str
    listed: int
    screened: Proportion  # over listed
    approached: Proportion  # over listed
    reached: Proportion  # over approached
    assessed: Proportion  # over listed
    ppv: Proportion  # needing support over assessed
    already_supported: Proportion  # over listed
    not_applicable: Proportion  # over listed
    lift: float | None
    median_days_to_contact: float | None
    median_days_to_assessment: float | None
    items_cleared: int
    cases_with_cleared_items: int


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def funnel_row(group: str, cases: list[CaseSummary], base: Proportion | None = None) -> FunnelRow:
    n = len(cases)
    count: Callable[[Callable[[CaseSummary], bool]], int] = lambda pred: sum(1 for c in cases if pred(c))  # noqa: E731
    approached = count(lambda c: c.approached)
    assessed = count(lambda c: c.assessed)
    ppv = wilson(count(lambda c: c.needs_support), assessed)
    return FunnelRow(
        group=group, listed=n, screened=wilson(count(lambda c: c.screened), n),
        approached=wilson(approached, n), reached=wilson(count(lambda c: c.reached), approached),
        assessed=wilson(assessed, n), ppv=ppv,
        already_supported=wilson(count(lambda c: c.already_supported), n),
        not_applicable=wilson(count(lambda c: c.not_applicable), n),
        lift=lift(ppv, base) if base is not None else None,
        median_days_to_contact=_median([c.days_to_contact for c in cases if c.days_to_contact is not None]),
        median_days_to_assessment=_median([c.days_to_assessment for c in cases if c.days_to_assessment is not None]),
        items_cleared=sum(c.cleared for c in cases), cases_with_cleared_items=count(lambda c: c.cleared > 0),
    )


def _grouped(cases: Iterable[CaseSummary],
             keys: Callable[[CaseSummary], Iterable[str]]) -> dict[str, list[CaseSummary]]:
    groups: dict[str, list[CaseSummary]] = defaultdict(list)
    for case in cases:
        for key in keys(case):
            groups[key].append(case)
    return groups


@dataclass(frozen=True)
class FunnelTables:
    overall: FunnelRow
    by_item: list[FunnelRow]
    by_combination: list[FunnelRow]
    by_tier: list[FunnelRow]
    by_ward: list[FunnelRow]
    by_month: list[FunnelRow]


def item_label(item: int) -> str:
    return f"項目{item}"


def combination_label(items: tuple[int, ...]) -> str:
    return "＋".join(str(i) for i in items)


def frequent_pairs(cases: list[CaseSummary], min_cases: int, limit: int) -> list[tuple[int, int]]:
    """The item pairs "that matter": carried together by at least ``min_cases`` listed children, commonest first."""
    counts: Counter[tuple[int, int]] = Counter()
    for case in cases:
        counts.update(combinations(sorted(case.items), 2))
    return [pair for pair, n in counts.most_common() if n >= min_cases][:limit]


def funnel_tables(cases: list[CaseSummary], *, tier_order: tuple[str, ...], min_combination_cases: int = 20,
                  max_combinations: int = 15) -> FunnelTables:
    overall = funnel_row("全体", cases)
    base = overall.ppv

    def rows(groups: dict[str, list[CaseSummary]], order: Iterable[str]) -> list[FunnelRow]:
        return [funnel_row(key, groups[key], base) for key in order if key in groups]

    by_item = _grouped(cases, lambda c: [item_label(i) for i in c.items])
    pairs = frequent_pairs(cases, min_combination_cases, max_combinations)
    by_pair = _grouped(cases, lambda c: [combination_label(p) for p in pairs if set(p) <= c.items])
    by_tier = _grouped(cases, lambda c: [c.tier])
    by_ward = _grouped(cases, lambda c: [c.ward_code])
    by_month = _grouped(cases, lambda c: [c.month])
    return FunnelTables(
        overall=funnel_row("全体", cases, base),
        by_item=rows(by_item, [item_label(i) for i in range(1, 20)]),
        by_combination=rows(by_pair, [combination_label(p) for p in pairs]),
        by_tier=rows(by_tier, [*tier_order, *sorted(set(by_tier) - set(tier_order))]),
        by_ward=rows(by_ward, sorted(by_ward)),
        by_month=rows(by_month, sorted(by_month)),
    )
