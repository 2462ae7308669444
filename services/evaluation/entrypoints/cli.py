"""Evaluation's command line: reports for the committee and the wards, what-if, and a synthetic store.

    python -m services.evaluation.entrypoints.cli report --period FY2026 [--variant interim|final] [--out DIR] [--pdf]
                                                         [--survey FILE.csv]
    python -m services.evaluation.entrypoints.cli weekly --week 2026-10-05 [--out DIR] [--pdf]   # city + each ward
    python -m services.evaluation.entrypoints.cli propose-weights --period FY2026 --out proposed.toml
    python -m services.evaluation.entrypoints.cli what-if --proposed proposed.toml [--out DIR] [--pdf]
    python -m services.evaluation.entrypoints.cli seed-synthetic --children 20000    # an empty store only
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from prometheus_client import CollectorRegistry

from contracts.topics.evaluation_reports import CITY, TOPIC, ReportFormat, ReportKind
from contracts.vocabulary import WARD_CODES
from services.evaluation.adapters import report_files, synthetic
from services.evaluation.adapters.orm import CaseRow
from services.evaluation.adapters.survey_file import SurveyFileError, load_survey
from services.evaluation.adapters.weights_file import WeightsFileError, load_weights, weights_toml
from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.domain.periods import PeriodError, parse_period, week_of
from services.evaluation.domain.weekly import scoped
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer import reports, retention
from services.evaluation.service_layer.publishing import publish_report


def _write(container: Container, html: str, name: str, out: Path | None, pdf: bool,
           publish_as: tuple[ReportKind, str] | None = None, scope: str = CITY) -> bool:
    """Writes the HTML (and PDF); with ``publish_as`` (kind, period label) also sends each file to
    evaluation.reports.v1 for casework's HQ page. False when a file could not be published (it stays on disk)."""
    folder = out or container.settings.reports_dir
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"{name}.html"
    html_path.write_text(html, encoding="utf-8")
    print(f"HTML: {html_path}")
    written: list[tuple[Path, ReportFormat]] = [(html_path, "html")]
    if pdf:
        try:
            report_files.write_pdf(html_path, folder / f"{name}.pdf", container.settings.chromium_path)
            print(f"PDF:  {folder / f'{name}.pdf'}")
            written.append((folder / f"{name}.pdf", "pdf"))
        except report_files.PdfUnavailable as exc:
            print(f"PDF not written: {exc}", file=sys.stderr)
    if publish_as is None or container.publisher is None:
        return True
    ok = True
    for path, fmt in written:
        try:
            sent = publish_report(container.publisher, path.read_bytes(), kind=publish_as[0],
                                  period_label=publish_as[1], fmt=fmt, generated_at=container.clock(), scope=scope)
            print(f"published: {path.name} ({sent.size} bytes) to {TOPIC.name}")
        except Exception as exc:  # too large, broker away: the file is written, HQ cannot download it yet
            print(f"not published: {path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="evaluation")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("report", "propose-weights"):
        p = sub.add_parser(name)
        p.add_argument("--period", required=True, help="2026, FY2026, 2026-09 or 2026-09-01..2027-03-31")
        p.add_argument("--out", type=Path)
        p.add_argument("--pdf", action="store_true")
        if name == "report":
            p.add_argument("--survey", type=Path, action="append", default=[],
                           help="casework's survey-export CSV (利用者アンケート); repeat for several rounds")
            p.add_argument("--variant", choices=("period", "interim", "final"), default="period",
                           help="interim: 中間報告, final: 最終報告 (the same tables under that title)")
    weekly = sub.add_parser("weekly")
    weekly.add_argument("--week", type=date.fromisoformat, required=True, help="any day of the week")
    weekly.add_argument("--out", type=Path)
    weekly.add_argument("--pdf", action="store_true")
    whatif = sub.add_parser("what-if")
    whatif.add_argument("--proposed", type=Path, required=True, help="a file with a [weights] table")
    whatif.add_argument("--out", type=Path)
    whatif.add_argument("--pdf", action="store_true")
    purge = sub.add_parser("retention-purge", help="remove closed cases past CASE_RETENTION_DAYS (docs/privacy.md)")
    purge.add_argument("--dry-run", action="store_true", help="count what would go, remove nothing")
    seed = sub.add_parser("seed-synthetic")
    seed.add_argument("--children", type=int, default=20_000)
    seed.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    # A CLI run serves no metrics: its own registry keeps repeated runs in one process apart.
    container = bootstrap(EvaluationSettings(), metrics=EvaluationMetrics(CollectorRegistry()))
    try:
        if args.command == "report":
            period = parse_period(args.period)
            surveys = [load_survey(path) for path in args.survey]
            report = reports.evaluation_report(container, period)
            html = report_files.evaluation_html(report, container.settings.min_combination_cases, surveys,
                                                variant=args.variant)
            label = args.period if args.variant == "period" else f"{args.variant}-{args.period}"
            if not _write(container, html, f"evaluation-{label}", args.out, args.pdf, ("period", label)):
                return 3
        elif args.command == "propose-weights":
            report = reports.evaluation_report(container, parse_period(args.period))
            if report.proposed_weights is None:
                print(f"no proposal: {report.model_note}", file=sys.stderr)
                return 1
            text = weights_toml(report.proposed_weights, f"Proposed from outcomes {args.period}; NOT in force")
            target = args.out or container.settings.reports_dir / f"proposed-weights-{args.period}.toml"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            print(f"proposal: {target}")
        elif args.command == "weekly":
            week = week_of(args.week)
            monday = week.start.isoformat()
            ok = True
            for scope, ward_rows in scoped(reports.weekly_report(container, week), WARD_CODES):  # city, then wards
                html = report_files.weekly_html(ward_rows, week, container.clock(), scope)
                name = f"weekly-{monday}" if scope == CITY else f"weekly-{monday}-{scope}"
                ok = _write(container, html, name, args.out, args.pdf, ("weekly", monday), scope) and ok
            if not ok:
                return 3
        elif args.command == "what-if":
            result = reports.what_if_report(container, load_weights(args.proposed))
            _write(container, report_files.what_if_html(result, container.clock()),
                   f"what-if-{result.proposed.version}", args.out, args.pdf)
        elif args.command == "retention-purge":
            done = retention.purge(container.uow(), container.clock(), container.settings.case_retention_days,
                                   metrics=container.metrics, dry_run=args.dry_run)
            verb = "would remove" if args.dry_run else "removed"
            print(f"retention ({container.settings.case_retention_days} days): {verb} {done.cases} closed case(s), "
                  f"{done.steps} step(s)")
        elif args.command == "seed-synthetic":
            with container.sessions() as session:
                if session.query(CaseRow).first() is not None:  # never mix invented children into real ones
                    print("refused: the store already holds listings; use an empty store", file=sys.stderr)
                    return 2
            rows = list(synthetic.generate(args.children, container.current_weights, seed=args.seed))
            with container.sessions.begin() as session:
                synthetic.write(session, rows, container.current_weights)
            print(f"synthetic store: {args.children} children, {sum(1 for r in rows if r.case)} listed")
    except (PeriodError, WeightsFileError, SurveyFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        if container.publisher is not None:
            container.publisher.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
