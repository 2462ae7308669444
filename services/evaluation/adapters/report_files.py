"""Writes reports: HTML with embedded figures, and PDF through headless Chromium where it is installed."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from contracts.topics.evaluation_reports import ReportFormat
from contracts.vocabulary import SIGNAL_LABELS
from services.evaluation.adapters import plots
from services.evaluation.adapters.html import WARD_NAMES as WARDS
from services.evaluation.adapters.html import render, ward_name
from services.evaluation.adapters.survey_file import SurveyFileError, load_survey
from services.evaluation.domain.model import LISTED_STATE
from services.evaluation.domain.periods import Period
from services.evaluation.domain.survey import SurveyTallies
from services.evaluation.domain.timing import WITHIN_DAYS
from services.evaluation.domain.weekly import AGE_BUCKETS, WardWeek
from services.evaluation.domain.what_if import CITY, WhatIf
from services.evaluation.service_layer.reports import EvaluationReport

log = logging.getLogger("tsunagu.evaluation.report_files")

BACKLOG_STATES = (LISTED_STATE, "保留", "関係三課協議", "個別アプローチ", "アセスメント", "プランニング", "支援")
WEEKLY_COUNTERS = (("新規アラート（抽出）", "new_alerts"), ("二次スクリーニング", "screenings"),
                   ("個別アプローチ（試みを含む）", "approaches"), ("うち面会・聴取できた", "reached"),
                   ("アセスメント", "assessments"), ("うち支援が必要", "needing_support"))


VARIANT_TITLES = {"period": "評価・検証報告", "interim": "評価・検証報告（中間報告）",
                  "final": "評価・検証報告（最終報告）"}


def evaluation_html(report: EvaluationReport, min_pair: int, surveys: Sequence[SurveyTallies] = (),
                    variant: str = "period") -> str:
    """``variant``: period (any period), interim (中間報告) or final (最終報告) — the same tables and figures for the
    committee (検討会), under the variant's title."""
    f = report.funnel
    figures = {"funnel": plots.funnel_chart(f.overall)}
    if f.by_month:
        figures["monthly"] = plots.monthly_chart(f.by_month)
    if f.by_item:
        figures["by_item"] = plots.rate_bars(f.by_item, "項目別 支援が必要な割合", f.overall.ppv)
    if f.by_tier:
        figures["tiers"] = plots.rate_bars(f.by_tier, "階層別 支援が必要な割合", f.overall.ppv)
    if report.model is not None:
        figures["odds"] = plots.odds_ratio_forest(report.model.odds_ratios)
        figures["calibration"] = plots.calibration_chart(report.model.calibration)
        figures["weights"] = plots.weights_chart(report.model.proposed)
    if report.days_to_contact or report.days_to_assessment:
        figures["days"] = plots.days_histogram(report.days_to_contact, report.days_to_assessment)
    if report.audit:
        figures["audit"] = plots.audit_chart(report.audit, {code: ward_name(code) for code in WARDS})
    for i, survey in enumerate(surveys):
        figures[f"survey{i}"] = plots.survey_chart(survey)
    return render("evaluation.html.j2", r=report, f=f, m=report.model, plots=figures, min_pair=min_pair,
                  generated_at=report.generated_at, surveys=surveys, title=VARIANT_TITLES.get(variant, variant),
                  variant=variant, within_days=WITHIN_DAYS)


def weekly_html(rows: list[WardWeek], week: Period, generated_at: object, scope: str = "city") -> str:
    """``scope``: "city" (every ward and the city) or a ward code (that ward's document: its rows only)."""
    view = [{"ward": r.ward, "this_week": r.this_week.__dict__, "last_week": r.last_week.__dict__} for r in rows]
    return render("weekly.html.j2", rows=view, week=week, counters=WEEKLY_COUNTERS, states=BACKLOG_STATES,
                  ages=AGE_BUCKETS, generated_at=generated_at,
                  scope_name="全市" if scope == "city" else ward_name(scope))


def what_if_html(result: WhatIf, generated_at: object) -> str:
    shifts = sorted(result.wards.items(), key=lambda kv: (kv[0] != CITY, kv[0]))
    return render("what_if.html.j2", w=result, shifts=shifts, generated_at=generated_at, signal_labels=SIGNAL_LABELS)


class PdfUnavailable(RuntimeError):
    pass


def write_pdf(html_path: Path, pdf_path: Path, chromium: str, timeout_s: float = 120) -> None:
    """Prints the HTML with headless Chromium (no new dependency); raises PdfUnavailable when it cannot."""
    binary = shutil.which(chromium) or (chromium if Path(chromium).exists() else None)
    if binary is None:
        raise PdfUnavailable(f"no Chromium at {chromium}: HTML only")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
             "--no-pdf-header-footer", f"--print-to-pdf={pdf_path.resolve()}", html_path.resolve().as_uri()],
            capture_output=True, timeout=timeout_s)
    if done.returncode != 0 or not pdf_path.exists():
        raise PdfUnavailable(f"Chromium exited {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")


@dataclass(frozen=True)
class ReportFileWriter:
    """Satisfies service_layer/scheduled.py's ReportFiles: the scheduled reports, written like the CLI's."""

    folder: Path
    chromium: str
    min_pair: int
    survey_dir: Path | None = None  # SURVEY_DIR: the survey exports the interim/final reports include

    def weekly_html(self, rows: list[WardWeek], week: Period, generated_at: datetime, scope: str = "city") -> str:
        return weekly_html(rows, week, generated_at, scope)

    def evaluation_html(self, report: EvaluationReport, variant: str = "period") -> str:
        surveys = self.surveys() if variant in ("interim", "final") else []
        return evaluation_html(report, self.min_pair, surveys, variant=variant)

    def surveys(self) -> list[SurveyTallies]:
        """Every survey export in SURVEY_DIR, by file name; a file that is not one is logged and left out."""
        if self.survey_dir is None or not self.survey_dir.is_dir():
            return []
        tallies = []
        for path in sorted(self.survey_dir.glob("*.csv")):
            try:
                tallies.append(load_survey(path))
            except SurveyFileError as exc:
                log.warning("survey file %s left out: %s", path.name, str(exc)[:200])
        return tallies

    def write(self, html: str, stem: str, pdf: bool) -> list[tuple[bytes, ReportFormat]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        html_path = self.folder / f"{stem}.html"
        partial = self.folder / f".{stem}.html.{os.getpid()}"  # a reader never sees half a file
        partial.write_text(html, encoding="utf-8")
        partial.replace(html_path)
        documents: list[tuple[bytes, ReportFormat]] = [(html_path.read_bytes(), "html")]
        if pdf:
            try:
                write_pdf(html_path, self.folder / f"{stem}.pdf", self.chromium)
                documents.append(((self.folder / f"{stem}.pdf").read_bytes(), "pdf"))
            except PdfUnavailable as exc:
                log.warning("%s: no PDF (%s)", stem, str(exc)[:200])
        return documents
