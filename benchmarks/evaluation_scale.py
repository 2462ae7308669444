"""Evaluation at city scale: ≈220 k children's synthetic flags and outcomes → funnel, item model, what-if, reports.

    .venv/bin/python benchmarks/evaluation_scale.py [--children 220000] [--store sqlite:///var/bench-ev.db] [--pdf]

Prints the time of each stage, each with the machine's 1-minute load average (the machine may be shared: a figure
means little without it). Targets (issue 16): what-if over the city ≤ 2 min, a year's evaluation ≤ 5 min, reports
render in seconds. No timed assertion: the figures are printed. With --store, the synthetic year is first written
to a store and read back, and the service layer's own use cases run on it (evaluation_report: store → funnel, item
model, timing, subgroup audit; what_if_report: store → re-tiering), as the CLI and the scheduled reports do. --pdf
also prints the evaluation report and one ward's weekly report with headless Chromium.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prometheus_client import CollectorRegistry

from services.evaluation.adapters import report_files, synthetic
from services.evaluation.adapters.repository import load_cases
from services.evaluation.bootstrap import bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.domain.funnel import funnel_tables, summarise
from services.evaluation.domain.item_model import Outcome, as_weights, fit_item_model
from services.evaluation.domain.periods import parse_period, week_of
from services.evaluation.domain.weekly import scoped, weekly
from services.evaluation.domain.what_if import ChildItems, what_if
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer import reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=220_000)
    parser.add_argument("--store", help="a database URL to write the synthetic year to and read it back from")
    parser.add_argument("--pdf", action="store_true", help="also print two reports to PDF (Chromium)")
    args = parser.parse_args()
    settings = EvaluationSettings(database_url=args.store or "sqlite://", metrics_port=0)
    container = bootstrap(settings, metrics=EvaluationMetrics(CollectorRegistry()))
    weights = container.current_weights
    t = time.perf_counter()

    def lap(label: str) -> None:
        nonlocal t
        now = time.perf_counter()
        print(f"{label:<58} {now - t:8.2f} s   load {os.getloadavg()[0]:5.2f}", flush=True)
        t = now

    rows = list(synthetic.generate(args.children, weights, seed=1))
    cases = [r.case for r in rows if r.case is not None]
    lap(f"generate {args.children:,} children ({len(cases):,} listed)")
    if args.store:
        with container.sessions.begin() as session:
            synthetic.write(session, rows, weights)
        lap("write the store")
        with container.sessions() as session:
            cases = load_cases(session)
        lap("read the store back")
    period = parse_period("FY2026")
    summaries = [summarise(c) for c in cases if period.contains(c.listed_at)]
    funnel = funnel_tables(summaries, tier_order=weights.tier_names)
    lap("funnel tables (item, pairs, tier, ward, month)")
    model = fit_item_model([Outcome(s.items, s.tier, s.needs_support) for s in summaries if s.assessed], weights,
                           population=[r.items for r in rows if r.items])
    lap(f"item model ({model.assessed:,} assessed)")
    proposed = as_weights(weights, model.proposed, model.proposed_thresholds, "bench-proposed")
    shift = what_if([ChildItems(r.ward_code, r.items) for r in rows if r.items], weights, proposed)
    lap(f"what-if ({shift.wards['全市'].children:,} flagged, {shift.wards['全市'].changed:,} change tier)")
    week = weekly(cases, week_of(datetime(2026, 11, 4, tzinfo=UTC).date()))
    lap("weekly figures (7 wards + city)")
    if args.store:  # the use cases as the CLI and the schedule run them, from the store
        report = reports.evaluation_report(container, period)
        lap(f"evaluation_report from the store ({report.cases:,} listed, whole year)")
        shift = reports.what_if_report(container, proposed)
        lap(f"what_if_report from the store ({shift.wards['全市'].children:,} flagged)")
    else:
        report = reports.EvaluationReport(period, datetime.now(UTC), weights, len(summaries), funnel, model, None,
                                          proposed, [], False)
    html = report_files.evaluation_html(report, settings.min_combination_cases, variant="final")
    lap(f"render the evaluation report, HTML + 9 figures ({len(html) // 1024} KiB)")
    week_period = week_of(datetime(2026, 11, 4).date())
    documents = [report_files.weekly_html(rows, week_period, datetime.now(UTC), scope)
                 for scope, rows in scoped(week, sorted({r.ward for r in week} - {"全市"}))]
    report_files.what_if_html(shift, datetime.now(UTC))
    lap(f"render {len(documents)} weekly documents (city + each ward) and what-if")
    if args.pdf:
        with tempfile.TemporaryDirectory() as folder:
            for name, text in (("evaluation", html), ("weekly-ward", documents[1])):
                path = Path(folder) / f"{name}.html"
                path.write_text(text, encoding="utf-8")
                report_files.write_pdf(path, Path(folder) / f"{name}.pdf", settings.chromium_path)
                lap(f"PDF of the {name} report ({(Path(folder) / f'{name}.pdf').stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
