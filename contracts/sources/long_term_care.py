"""介護 (long-term care): a household member certified for care, a young-carer signal."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData

SYSTEM = "long_term_care"
TOPIC = "source.long-term-care.v1"
LABEL_JA = "介護"


class CareCertified(SourceData):
    insured_no: str = Field(min_length=1, max_length=20, description="被保険者番号")
    atena_no: AtenaNo
    care_level: str = Field(max_length=10, description="要介護度 (要支援1 … 要介護5)", examples=["要介護2"])
    start_date: JpDate


class CareEnded(SourceData):
    insured_no: str = Field(min_length=1, max_length=20)
    atena_no: AtenaNo
    end_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "long_term_care.certification.started": CareCertified,
    "long_term_care.certification.ended": CareEnded,
}
