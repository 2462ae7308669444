"""母子保健 (maternal and child health): 妊娠届, 妊婦健診, births, 産婦健診 (EPDS), 乳幼児健診."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData

SYSTEM = "maternal_child_health"
TOPIC = "source.maternal-child-health.v1"
LABEL_JA = "母子保健"

CheckupKind = Literal["3-4m", "1y6m", "3y"]


class PregnancyNotified(SourceData):
    pregnancy_id: str = Field(min_length=1, max_length=30, description="妊娠届 number (母子健康手帳 交付番号)")
    mother_atena_no: AtenaNo
    notification_date: JpDate = Field(description="届出日 / 母子健康手帳 交付日")
    gestational_weeks: int = Field(ge=0, le=45, description="妊娠週数 at notification")
    expected_delivery_date: JpDate | None = Field(None, description="出産予定日")


class PrenatalCheckupVisited(SourceData):
    pregnancy_id: str = Field(min_length=1, max_length=30)
    mother_atena_no: AtenaNo
    visit_date: JpDate = Field(description="妊婦健診 受診日")


class BirthRecorded(SourceData):
    pregnancy_id: str | None = Field(None, max_length=30, description="links the pregnancy to the child")
    mother_atena_no: AtenaNo
    child_atena_no: AtenaNo
    birth_date: JpDate
    birth_weight_g: int | None = Field(None, ge=200, le=7000, description="出生体重 (g)")


class PostpartumCheckupRecorded(SourceData):
    mother_atena_no: AtenaNo
    child_atena_no: AtenaNo | None = Field(None, description="the child born; when absent, the latest birth")
    checkup_date: JpDate = Field(description="産婦健診 受診日")
    epds_total: int = Field(ge=0, le=30, description="EPDS 合計点 (0–30)")
    epds_item10: int = Field(ge=0, le=3, description="EPDS 項目10 (自傷の考え) 0–3")


class InfantCheckupRecorded(SourceData):
    child_atena_no: AtenaNo
    checkup: CheckupKind = Field(description="乳幼児健診: 3-4m (3〜4か月), 1y6m (1歳6か月), 3y (3歳)")
    checkup_date: JpDate
    attended: bool = Field(description="受診した (true) / 未受診 recorded by the system (false)")
    weight_kg: float | None = Field(None, gt=0, lt=60, description="体重 (kg)")
    height_cm: float | None = Field(None, gt=20, lt=150, description="身長 (cm)")
    hit_emotionally: bool | None = Field(None, description="問診: 感情的に叩いた")
    left_alone: bool | None = Field(None, description="問診: 家に残して外出した")
    not_fed: bool | None = Field(None, description="問診: 長時間食事を与えなかった")
    covered_mouth: bool | None = Field(None, description="問診: 口をふさいだ (3-4m, 1y6m)")
    shook_violently: bool | None = Field(None, description="問診: 激しく揺さぶった (3-4m, 1y6m)")


EVENT_TYPES: dict[str, type[SourceData]] = {
    "maternal_child_health.pregnancy.notified": PregnancyNotified,
    "maternal_child_health.prenatal_checkup.visited": PrenatalCheckupVisited,
    "maternal_child_health.birth.recorded": BirthRecorded,
    "maternal_child_health.postpartum_checkup.recorded": PostpartumCheckupRecorded,
    "maternal_child_health.infant_checkup.recorded": InfantCheckupRecorded,
}
