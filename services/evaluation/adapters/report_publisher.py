"""Sends reports to evaluation.reports.v1 with kafka-python (the CLI is synchronous), in the CloudEvents envelope.

The producer's ``max_request_size`` is the topic's ``max.message.bytes`` (contracts/topics/evaluation_reports.py):
a committee report's PDF is about 1 MB, over the client's 1 MB default. It is created on the first report only,
so commands that publish nothing never connect to the broker.
"""

from __future__ import annotations

import json
from typing import Any

from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.evaluation_reports import EVENT_TYPE, MAX_MESSAGE_BYTES, TOPIC, EvaluationReportV1

SOURCE = "/tsunagu/evaluation"


def encode(report: EvaluationReportV1) -> bytes:
    envelope = envelope_dict(data=report, type_=EVENT_TYPE, source=SOURCE, subject=report.report_id,
                             event_id=report.report_id, time=report.generated_at)
    return json.dumps(envelope, ensure_ascii=False).encode()


class KafkaReportPublisher:
    """Satisfies service_layer/publishing.py's ReportPublisher."""

    def __init__(self, bootstrap: str, client_options: dict[str, Any], timeout_s: float = 60.0) -> None:
        self._bootstrap, self._options, self._timeout_s = bootstrap, client_options, timeout_s
        self._producer: KafkaProducer | None = None

    def publish(self, report: EvaluationReportV1) -> None:
        value = encode(report)
        if len(value) > MAX_MESSAGE_BYTES:  # the contract's limits keep this from happening; never send a cut file
            raise ValueError(f"encoded report is {len(value)} bytes, over {MAX_MESSAGE_BYTES}")
        if self._producer is None:
            self._producer = KafkaProducer(bootstrap_servers=self._bootstrap, acks="all",
                                           max_request_size=MAX_MESSAGE_BYTES, client_id="tsunagu-evaluation-reports",
                                           **self._options)
        self._producer.send(TOPIC.name, key=report.report_id.encode(), value=value).get(timeout=self._timeout_s)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None
