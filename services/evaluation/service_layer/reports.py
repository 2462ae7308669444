"""Use cases behind the reports: read the store, compute with the pure domain, return the figures."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime

from services.evaluation.domain.fairness import AuditChild, AuditRow, audit
from services.evaluation.domain.funnel import CaseSummary, FunnelTables, funnel_tables, summarise
from services.evaluation.domain.item_model import ItemModel, NotEnoughData, Outcome, as_weights, fit_item_model
from services.evaluation.domain.model import Case
from services.evaluation.domain.periods import Period
from services.evaluation.domain.timing import TimingRow, days_lists, timing_tables
from services.evaluation.domain.weekly import WardWeek, weekly
from services.evaluation.domain.weights import Weights
from services.evaluation.domain.what_if import ChildItems, WhatIf, what_if
from services.evaluation.service_layer.ports import Reporting, Store
from services.evaluation.service_layer.unit_of_work import ChildItems as ChildNow


@dataclass(frozen=True)
class EvaluationReport:
    period: Period
    generated_at: datetime
    weights: Weights
    cases: int
    funnel: FunnelTables
    model: ItemModel | None
    model_note: str | None  # why there is no model
    proposed_weights: Weights | None
    audit: list[AuditRow]
    has_population: bool
    timing: list[TimingRow] = field(default_factory=list)  # listing → first contact / assessment, per tier
    days_to_contact: list[float] = field(default_factory=list)  # every contacted child's days (the histogram)
    days_to_assessment: list[float] = field(default_factory=list)


def cases_in(container: Store, period: Period | None) -> list[Case]:
    with container.uow() as uow:
        cases = uow.store.cases()
    return cases if period is None else [c for c in cases if period.contains(c.listed_at)]


def evaluation_report(container: Reporting, period: Period) -> EvaluationReport:
    started = time.perf_counter()
    weights = container.current_weights
    settings = container.settings
    with container.uow() as uow:
        children = uow.store.children()
        all_cases = uow.store.cases()
    cases = [c for c in all_cases if period.contains(c.listed_at)]
    summaries = [summarise(c) for c in cases]
    funnel = funnel_tables(summaries, tier_order=weights.tier_names,
                           min_combination_cases=settings.min_combination_cases)
    outcomes = [Outcome(s.items, s.tier, s.needs_support) for s in summaries if s.assessed]
    model, note, proposed = None, None, None
    try:
        model = fit_item_model(outcomes, weights, min_cases=settings.min_cases,
                               population=[c.items for c in children if c.items] or None)
        proposed = as_weights(weights, model.proposed, model.proposed_thresholds, f"{weights.version}-proposed")
    except NotEnoughData as exc:
        note = str(exc)
    to_contact, to_assessment = days_lists(summaries)
    report = EvaluationReport(period, container.clock(), weights, len(cases), funnel, model, note, proposed,
                              audit(_audit_children(children, summaries, cases), container.ward_population),
                              bool(container.ward_population), timing_tables(summaries, weights.tier_names),
                              to_contact, to_assessment)
    container.metrics.report_duration.labels(kind="evaluation").observe(time.perf_counter() - started)
    return report


def _audit_children(children: list[ChildNow], summaries: list[CaseSummary], cases: list[Case]) -> list[AuditChild]:
    by_child: dict[str, list[tuple[Case, CaseSummary]]] = {}
    for case, summary in zip(cases, summaries, strict=True):
        by_child.setdefault(case.child_id, []).append((case, summary))
    result = []
    known: set[str] = set()
    for child in children:
        if not child.ever_items:
            continue
        known.add(child.child_id)
        mine = by_child.get(child.child_id, [])
        result.append(AuditChild(child.ward_code or (mine[0][0].ward_code if mine else "不明"), child.ever_items,
                                 bool(mine), any(s.assessed for _, s in mine), any(s.needs_support for _, s in mine)))
    for child_id, mine in by_child.items():  # alerted children whose flags evaluation has not seen
        if child_id not in known:
            items: frozenset[int] = frozenset().union(*(c.items for c, _ in mine))
            result.append(AuditChild(mine[0][0].ward_code, items, True, any(s.assessed for _, s in mine),
                                     any(s.needs_support for _, s in mine)))
    return result


def weekly_report(container: Store, week: Period) -> list[WardWeek]:
    started = time.perf_counter()
    rows = weekly(cases_in(container, None), week)
    container.metrics.report_duration.labels(kind="weekly").observe(time.perf_counter() - started)
    return rows


def what_if_report(container: Reporting, proposed: Weights) -> WhatIf:
    started = time.perf_counter()
    with container.uow() as uow:
        children = [ChildItems(c.ward_code or "不明", c.items, c.signals) for c in uow.store.children()
                    if c.items or c.signals]
    result = what_if(children, container.current_weights, proposed)
    container.metrics.report_duration.labels(kind="what_if").observe(time.perf_counter() - started)
    return result
