"""Publishing reports to evaluation.reports.v1: the CLI sends every weekly/period file it writes (a fake publisher
stands in for Kafka), the message matches the file, and a file too large for a message is refused, not cut."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from contracts.envelope import Envelope
from contracts.topics.evaluation_reports import MAX_DOCUMENT_BYTES, EvaluationReportV1, ReportTooLarge
from contracts.vocabulary import WARDS
from services.evaluation import bootstrap as bootstrap_module
from services.evaluation.adapters.report_publisher import encode
from services.evaluation.entrypoints import cli
from services.evaluation.service_layer.publishing import publish_report

pytestmark = pytest.mark.unit


class FakePublisher:
    sent: ClassVar[list[EvaluationReportV1]] = []
    fail: ClassVar[bool] = False

    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self.closed = False

    def publish(self, report: EvaluationReportV1) -> None:
        if FakePublisher.fail:
            raise ConnectionError("no broker")
        FakePublisher.sent.append(report)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> type[FakePublisher]:
    monkeypatch.setenv("TSUNAGU_EVALUATION_DATABASE_URL", f"sqlite:///{tmp_path}/ev.db")
    monkeypatch.setenv("TSUNAGU_EVALUATION_REPORTS_DIR", str(tmp_path / "out"))
    monkeypatch.setenv("TSUNAGU_EVALUATION_METRICS_PORT", "0")
    monkeypatch.setenv("TSUNAGU_EVALUATION_PUBLISH_REPORTS", "true")
    monkeypatch.setattr(bootstrap_module, "KafkaReportPublisher", FakePublisher)
    FakePublisher.sent, FakePublisher.fail = [], False
    return FakePublisher


def test_the_cli_publishes_each_report_file_it_writes(fake: type[FakePublisher], tmp_path: Path) -> None:
    assert cli.main(["seed-synthetic", "--children", "1500", "--seed", "3"]) == 0
    assert fake.sent == []  # seeding publishes nothing
    assert cli.main(["weekly", "--week", "2026-11-04"]) == 0
    assert cli.main(["report", "--period", "FY2026"]) == 0
    assert cli.main(["report", "--period", "2026-04-01..2026-09-30", "--variant", "interim"]) == 0
    assert [(r.kind, r.period_label, r.scope, r.format) for r in fake.sent] == [
        ("weekly", "2026-11-02", "city", "html"),
        *(("weekly", "2026-11-02", code, "html") for code in WARDS),  # one document per ward
        ("period", "FY2026", "city", "html"), ("period", "interim-2026-04-01..2026-09-30", "city", "html")]
    weekly, *wards, period, interim = fake.sent
    assert weekly.document() == (tmp_path / "out" / "weekly-2026-11-02.html").read_bytes()
    assert period.size == (tmp_path / "out" / "evaluation-FY2026.html").stat().st_size
    assert len({r.report_id for r in fake.sent}) == len(fake.sent)
    city_text = weekly.document().decode()
    assert all(name in city_text for name in WARDS.values())
    for ward in wards:  # a ward's document names its ward and no other
        text = ward.document().decode()
        assert [code for code in WARDS if f"（{code}）" in text] == [ward.scope]
        assert (tmp_path / "out" / f"weekly-2026-11-02-{ward.scope}.html").read_bytes() == ward.document()
    assert "評価・検証報告（中間報告）" in interim.document().decode()
    assert "中間報告" not in period.document().decode()
    for report in fake.sent:
        assert not re.search(rb"syn-\d+-\d+", report.document())  # aggregates only: no child id travels
        envelope = Envelope[EvaluationReportV1].model_validate_json(encode(report))
        assert envelope.id == report.report_id and envelope.data.sha256 == report.sha256


def test_a_report_that_cannot_be_published_is_still_written_and_the_exit_code_says_so(
        fake: type[FakePublisher], tmp_path: Path) -> None:
    assert cli.main(["seed-synthetic", "--children", "300", "--seed", "3"]) == 0
    fake.fail = True
    assert cli.main(["weekly", "--week", "2026-11-04"]) == 3
    assert (tmp_path / "out" / "weekly-2026-11-02.html").exists()
    assert (tmp_path / "out" / "weekly-2026-11-02-40137.html").exists()


def test_a_document_too_large_for_a_message_is_refused_before_sending() -> None:
    sent: list[EvaluationReportV1] = []

    class Publisher:
        def publish(self, report: EvaluationReportV1) -> None:
            sent.append(report)

        def close(self) -> None:
            pass

    now = datetime(2026, 11, 9, tzinfo=UTC)
    with pytest.raises(ReportTooLarge):
        publish_report(Publisher(), b"x" * (MAX_DOCUMENT_BYTES + 1), kind="period", period_label="FY2026",
                       fmt="pdf", generated_at=now)
    assert sent == []
    largest = publish_report(Publisher(), b"%PDF" + b"x" * (MAX_DOCUMENT_BYTES - 4), kind="period",
                             period_label="FY2026", fmt="pdf", generated_at=now)
    from contracts.topics.evaluation_reports import MAX_MESSAGE_BYTES
    assert len(encode(largest)) < MAX_MESSAGE_BYTES  # the largest allowed document fits the topic's limit
    assert json.loads(encode(largest))["data"]["size"] == MAX_DOCUMENT_BYTES
