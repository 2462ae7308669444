"""Evaluation's settings (env prefix ``TSUNAGU_EVALUATION_``), built once in bootstrap and passed down."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from contracts.kafka_security import KafkaSecuritySettings

# The municipality's rule file: evaluation reads only its [weights] table (the weights and tiers in force).
DEFAULT_RULE_FILE = Path(__file__).resolve().parents[1] / "scoring" / "config" / "fukuoka.toml"


class EvaluationSettings(KafkaSecuritySettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_EVALUATION_", extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    app_id: str = Field("tsunagu-evaluation", description="Faust app id: the consumer group")
    data_dir: Path = Field(Path("var/evaluation"), description="Faust's local data directory")
    metrics_port: int = Field(9106, ge=0, le=65535, description="Prometheus exporter port (0: none)")
    database_url: str = Field("sqlite:///var/evaluation.db", description="e.g. postgresql+psycopg://user@host/db")
    rule_file: Path = Field(DEFAULT_RULE_FILE, description="Rule file whose [weights] are the ones in force")
    reports_dir: Path = Field(Path("var/reports"), description="Where the CLI writes reports by default")
    ward_population_file: Path | None = Field(
        None, description="JSON {ward code: children aged 0–15}, public statistics; gives flag rates per ward")
    auto_offset_reset: str = Field("earliest", pattern="^(earliest|latest)$")
    batch_max: int = Field(500, ge=1, description="Messages applied in one transaction")
    batch_window_s: float = Field(0.2, gt=0)
    kafka_session_timeout_s: float = Field(30.0, gt=0)
    min_cases: int = Field(10, ge=1, description="Fewest assessed children carrying an item to estimate its OR")
    min_combination_cases: int = Field(20, ge=1, description="Fewest listed children for an item pair to be shown")
    publish_reports: bool = Field(
        True, description="Send each weekly/period report the CLI writes to evaluation.reports.v1 (casework's HQ page)")
    chromium_path: str = Field("/usr/bin/chromium", description="Headless Chromium for PDF (print-to-pdf)")
    # Retention (docs/privacy.md): closed cases go when the city's period for case records has passed (as casework)
    case_retention_days: int = Field(
        1826, ge=90, description="A closed (終結) case and its steps are removed this many days after its last step "
        "(the city's 文書保存年限, as casework's CLOSED_CASE_RETENTION_DAYS; default 5 years). Open cases stay")
    retention_purge_interval_s: float = Field(
        86400.0, gt=0, description="How often the worker runs the retention purge (first run a minute after start)")
    retention_purge_enabled: bool = Field(True, description="Run the retention purge in the worker")
    # Reports on a schedule (service_layer/scheduled.py, docs/evaluation.md): the worker produces them by itself.
    schedule_enabled: bool = Field(True, description="The worker produces the weekly (and period) report by itself")
    schedule_weekday: str = Field("mon", pattern="^(?i)(mon|tue|wed|thu|fri|sat|sun)$",
                                  description="Day of the week the reports are due (JST)")
    schedule_time: time = Field(time(7, 0), description="Time of day the reports are due, JST (HH:MM)")
    schedule_period_report: Literal["none", "fiscal_year_to_date"] = Field(
        "fiscal_year_to_date", description="Also the 評価・検証報告 of the fiscal year up to the reported week")
    schedule_pdf: bool = Field(True, description="Scheduled reports also as PDF (Chromium; HTML only without it)")
    schedule_check_s: float = Field(60.0, gt=0, description="How often the worker checks whether a report is due")
    schedule_retry_after_s: float = Field(
        900.0, gt=0, description="A claimed report not published after this long (crash, broker away) is retried")
    # 中間報告 / 最終報告: produced once each on the day the city sets (at SCHEDULE_TIME, JST); the period defaults to
    # the fiscal year up to the end of the month before that day (domain/schedule.py Milestone).
    interim_report_on: date | None = Field(None, description="Day the interim report (中間報告) is due, JST")
    interim_report_period: str | None = Field(
        None, description="What the interim report covers (a period the CLI accepts); default: FY up to last month")
    final_report_on: date | None = Field(None, description="Day the final report (最終報告) is due, JST")
    final_report_period: str | None = Field(
        None, description="What the final report covers (e.g. FY2026); default: FY up to last month")
    survey_dir: Path | None = Field(
        None, description="Folder of casework survey exports (*.csv) the scheduled interim/final reports include")
