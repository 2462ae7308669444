"""住民記録 (resident registry): persons, 世帯 (households), addresses, moves, births, deaths, 学齢簿."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import (
    AtenaNo,
    HouseholdNo,
    JpDate,
    NameKana,
    NameKanji,
    SchoolCode,
    Sex,
    SourceData,
    WardCode,
)

SYSTEM = "resident_registry"
TOPIC = "source.resident-registry.v1"
LABEL_JA = "住民記録"


class PersonRecord(SourceData):
    atena_no: AtenaNo
    household_no: HouseholdNo
    relation_to_head: str = Field(max_length=20, description="続柄 (世帯主, 妻, 夫, 子, 母, 父, 祖母 …)",
                                  examples=["子"])
    name_kanji: NameKanji
    name_kana: NameKana
    birth_date: JpDate
    sex: Sex
    address: str = Field(max_length=200, description="住所 (in Fukuoka City)", examples=["福岡市東区箱崎1丁目2-3"])
    ward_code: WardCode | None = Field(None, description="区コード; derived from the address when absent")
    postal_code: str | None = Field(
        None, max_length=10, description="郵便番号, 7 digits with or without hyphen or 〒 (empty: not known)",
        # Schema only (ingest checks with its own rule and reason, services/ingest/domain/normalise.py).
        json_schema_extra={"pattern": r"^(?:(?:[\s〒\-ー−‐－]*[0-9０-９]){7}[\s〒\-ー−‐－]*)?$"})
    effective_date: JpDate = Field(description="異動日 (date the change took effect)")
    reason: Literal["birth", "move_in", "move_within", "name_change", "household_change", "correction",
                    "initial_load"] = Field(description="異動事由")
    school_code: SchoolCode | None = Field(None, description="学齢簿: assigned school, for children of school age")


class PersonLeft(SourceData):
    atena_no: AtenaNo
    household_no: HouseholdNo
    effective_date: JpDate
    reason: Literal["move_out", "death"] = Field(description="転出 or 死亡")


EVENT_TYPES: dict[str, type[SourceData]] = {
    "resident_registry.person.registered": PersonRecord,
    "resident_registry.person.changed": PersonRecord,
    "resident_registry.person.left": PersonLeft,
}
