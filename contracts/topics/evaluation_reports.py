"""evaluation.reports.v1 — every report evaluation generates (週次報告書, 評価・検証報告), as a document, for casework.

Evaluation publishes one message per generated file (HTML or PDF); casework's worker stores it and HQ downloads it
from the ward UI (「報告書」). Reports aggregate: counts, rates, intervals and figures per item, tier, ward and
period — no child id, name or address (docs/evaluation.md), so the message carries no personal data either.

Size: a report travels whole, base64 inside the JSON envelope. The committee report's PDF of a 20 k-child synthetic
city is 0.93 MB (1.24 MB as base64: over Kafka's default 1 MB), so the topic sets ``max.message.bytes`` and the
producer ``max_request_size`` to ``MAX_MESSAGE_BYTES``; a document over ``MAX_DOCUMENT_BYTES`` is refused before
sending (``ReportTooLarge``), never cut.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from contracts.topics._catalogue import DAY_MS, TopicSpec

MAX_DOCUMENT_BYTES = 7 * 1024 * 1024  # the file itself; base64 makes it 4/3 larger (9.33 MiB)
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # the envelope with the base64 document, with room to spare

TOPIC = TopicSpec(
    name="evaluation.reports.v1", partitions=1, key="report_id", retention_ms=5 * 365 * DAY_MS,
    description="Reports evaluation generated (weekly, period), HTML or PDF, for HQ to download in casework.",
    extra_config={"max.message.bytes": str(MAX_MESSAGE_BYTES)},
)
EVENT_TYPE = "evaluation.report.generated"

ReportKind = Literal["weekly", "period"]
ReportFormat = Literal["html", "pdf"]
CONTENT_TYPES: dict[str, str] = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}
CITY = "city"


class ReportTooLarge(ValueError):
    """The document is larger than one message may carry; it stays a local file only."""


class EvaluationReportV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    report_id: str = Field(min_length=1, max_length=64, description="Unique per generated file; the message key")
    kind: ReportKind = Field(description="weekly: 週次報告書; period: 評価・検証報告 (interim, final, any period)")
    period_label: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.\-]+$",
                              description="The week's Monday (2026-11-02) or the period as given (FY2026, …)")
    scope: str = Field(CITY, pattern=r"^(city|\d{5})$", description="'city' (every ward) or one ward code")
    generated_at: AwareDatetime
    format: ReportFormat
    size: int = Field(ge=1, le=MAX_DOCUMENT_BYTES, description="Bytes of the document")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Of the document's bytes")
    document_b64: str = Field(repr=False, description="The document, standard base64")

    @model_validator(mode="after")
    def _document_matches(self) -> EvaluationReportV1:
        data = self.document()
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            raise ValueError("document does not match its size and sha256")
        return self

    def document(self) -> bytes:
        try:
            return base64.b64decode(self.document_b64, validate=True)
        except binascii.Error:
            raise ValueError("document_b64 is not base64") from None

    @classmethod
    def of(cls, data: bytes, *, report_id: str, kind: ReportKind, period_label: str, fmt: ReportFormat,
           generated_at: AwareDatetime, scope: str = CITY) -> EvaluationReportV1:
        """Builds the message for a document; raises ReportTooLarge rather than send what the topic refuses."""
        if len(data) > MAX_DOCUMENT_BYTES:
            raise ReportTooLarge(f"report is {len(data)} bytes; at most {MAX_DOCUMENT_BYTES} travel on {TOPIC.name}")
        return cls(report_id=report_id, kind=kind, period_label=period_label, scope=scope, generated_at=generated_at,
                   format=fmt, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   document_b64=base64.b64encode(data).decode("ascii"))
