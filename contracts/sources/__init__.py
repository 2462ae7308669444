"""One contract module per source system (the 16 systems of BRIEF.md)."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from contracts.sources import (
    child_allowance,
    child_guidance,
    childcare,
    disability,
    long_term_care,
    maternal_child_health,
    medical_subsidy,
    public_assistance,
    resident_registry,
    school_affairs,
    school_aid,
    school_lunch_fees,
    school_students,
    school_surveys,
    single_parent_loans,
    special_child_allowance,
)
from contracts.sources._common import SourceData


@dataclass(frozen=True)
class SourceSystem:
    system: str
    topic: str
    label_ja: str
    event_types: dict[str, type[SourceData]]
    school_media: bool  # 校務系: arrives as CSV files on external media


def _system(module: ModuleType, school_media: bool = False) -> SourceSystem:
    return SourceSystem(module.SYSTEM, module.TOPIC, module.LABEL_JA, module.EVENT_TYPES, school_media)


SOURCE_SYSTEMS: dict[str, SourceSystem] = {
    s.system: s
    for s in (
        _system(resident_registry),
        _system(public_assistance),
        _system(maternal_child_health),
        _system(child_allowance),
        _system(special_child_allowance),
        _system(single_parent_loans),
        _system(childcare),
        _system(medical_subsidy),
        _system(disability),
        _system(long_term_care),
        _system(school_students, school_media=True),
        _system(school_affairs, school_media=True),
        _system(school_surveys, school_media=True),
        _system(school_aid),
        _system(school_lunch_fees),
        _system(child_guidance),
    )
}
SYSTEM_BY_TOPIC: dict[str, SourceSystem] = {s.topic: s for s in SOURCE_SYSTEMS.values()}
