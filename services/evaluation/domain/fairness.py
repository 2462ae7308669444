"""Subgroup audit: flag, alert and needing-support rates by ward and household type, with Wilson intervals.

Household type comes from what the flags say, never from a name: 生活保護世帯 (item 18) and ひとり親世帯
(item 19, 児童扶養手当). Multi-child and foreign-national households are not on any topic evaluation reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from services.evaluation.domain.stats import Proportion, wilson

HOUSEHOLD_TYPES = {18: "生活保護世帯", 19: "ひとり親世帯（児童扶養手当）"}
OTHER_HOUSEHOLD = "その他・不明"
ALL = "全体"


@dataclass(frozen=True)
class AuditChild:
    ward_code: str
    items: frozenset[int]  # every item the child has carried
    alerted: bool
    assessed: bool
    needs_support: bool


def household_types(items: frozenset[int]) -> list[str]:
    kinds = [label for item, label in HOUSEHOLD_TYPES.items() if item in items]
    return kinds or [OTHER_HOUSEHOLD]


@dataclass(frozen=True)
class AuditRow:
    dimension: str  # 区 / 世帯類型
    group: str
    flagged: int
    flag_rate: Proportion | None  # over the group's child population, when it is known
    alert_rate: Proportion  # alerted over flagged
    need_rate: Proportion  # needing support over assessed


def audit(children: Iterable[AuditChild], ward_population: Mapping[str, int] | None = None) -> list[AuditRow]:
    groups: dict[tuple[str, str], list[AuditChild]] = defaultdict(list)
    for child in children:
        groups[("全体", ALL)].append(child)
        groups[("区", child.ward_code)].append(child)
        for kind in household_types(child.items):
            groups[("世帯類型", kind)].append(child)
    population = dict(ward_population or {})
    if population:
        population[ALL] = sum(population.values())
    rows = []
    order = {"全体": 0, "区": 1, "世帯類型": 2}
    for (dimension, group), members in sorted(groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1])):
        flagged = len(members)
        known = population.get(group) if dimension != "世帯類型" else None
        assessed = [m for m in members if m.assessed]
        rows.append(AuditRow(
            dimension, group, flagged,
            wilson(flagged, known) if known and known >= flagged else None,
            wilson(sum(m.alerted for m in members), flagged),
            wilson(sum(m.needs_support for m in assessed), len(assessed)),
        ))
    return rows
