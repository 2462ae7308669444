"""母子父子寡婦福祉資金貸付 (welfare loans for single parents and widows)."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import SourceData
from contracts.sources._eligibility import EligibilityEnded, EligibilityStarted

SYSTEM = "single_parent_loans"
TOPIC = "source.single-parent-loans.v1"
LABEL_JA = "母子父子寡婦福祉資金貸付"


class LoanGranted(EligibilityStarted):
    loan_kind: str = Field(max_length=30, description="資金の種類 (修学資金, 生活資金 …)", examples=["修学資金"])


EVENT_TYPES: dict[str, type[SourceData]] = {
    "single_parent_loans.loan.granted": LoanGranted,
    "single_parent_loans.loan.ended": EligibilityEnded,
}
