"""障がい (保健福祉総合): 精神障害者保健福祉手帳, 障害児支援受給者証 and other certificates."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData

SYSTEM = "disability"
TOPIC = "source.disability.v1"
LABEL_JA = "障がい (保健福祉総合)"

CertificateKind = Literal["mental_health_welfare", "child_support_recipient", "physical", "ryoiku"]


class CertificateIssued(SourceData):
    certificate_no: str = Field(min_length=1, max_length=30, description="手帳番号 / 受給者証番号")
    atena_no: AtenaNo
    certificate: CertificateKind = Field(
        description="mental_health_welfare=精神障害者保健福祉手帳, child_support_recipient=障害児支援受給者証, "
                    "physical=身体障害者手帳, ryoiku=療育手帳")
    developmental_disability: bool = Field(False, description="発達障がい (for 精神障害者保健福祉手帳)")
    grade: str | None = Field(None, max_length=10, description="等級")
    issue_date: JpDate


class CertificateEnded(SourceData):
    certificate_no: str = Field(min_length=1, max_length=30)
    atena_no: AtenaNo
    end_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "disability.certificate.issued": CertificateIssued,
    "disability.certificate.ended": CertificateEnded,
}
