"""児童相談 (child guidance): current support, 要対協 registration, 一時保護 history."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData

SYSTEM = "child_guidance"
TOPIC = "source.child-guidance.v1"
LABEL_JA = "児童相談"

Involvement = Literal["support", "youtaikyo", "temporary_protection"]


class InvolvementStarted(SourceData):
    case_no: str = Field(min_length=1, max_length=20, description="相談番号")
    child_atena_no: AtenaNo
    involvement: Involvement = Field(
        description="support=児童相談所が支援中, youtaikyo=要保護児童対策地域協議会 登録, "
                    "temporary_protection=一時保護")
    start_date: JpDate


class InvolvementEnded(SourceData):
    case_no: str = Field(min_length=1, max_length=20)
    child_atena_no: AtenaNo
    involvement: Involvement
    end_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "child_guidance.involvement.started": InvolvementStarted,
    "child_guidance.involvement.ended": InvolvementEnded,
}
