"""Retention of source facts (保有の制限, docs/privacy.md "Retention in casework and linkage"): which of linkage's
source facts are past the period the city keeps them for, per kind. Pure.

A fact of a kind that has an end event (an allowance, a 生活保護 case, a childcare enrolment …) is past its period
``years`` after it **ended**; one still running (no end) never is. A fact of a kind without an end event (a
checkup, an attendance report, a survey answer) is past it ``years`` after its own day. Kinds without a period
are kept. Births and pregnancy notifications are never purged here: they tie a mother to her child (a birth without
its 妊娠届 number finds the pregnancy through them), so a current identity may still need them to link.

Persons, their keys, births, the processed-record index and the deny-list are not touched: what links a later
record to the same child stays. Nothing is retracted downstream: scoring keeps what its own windows allow (the
period must be at least the longest window of scoring's rule file over the kind; docs/privacy.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date

from services.linkage.domain.model import SourceFact
from services.linkage.domain.state import LinkageState
from services.linkage.domain.systems import SPECS

ENDING_KINDS = frozenset(spec.kind for spec in SPECS.values() if spec.ends)
NEVER_PURGED = frozenset({"birth", "pregnancy_notified"})
PURGEABLE_KINDS = frozenset(spec.kind for spec in SPECS.values()) - NEVER_PURGED


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def last_day(sf: SourceFact) -> date | None:
    """The day the fact stops being current: its end, or its own day for a kind without an end; None if running."""
    text = sf.valid_to if sf.kind in ENDING_KINDS else (sf.valid_to or sf.valid_from or sf.record_date)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def expired(state: LinkageState, years_by_kind: Mapping[str, int], today: date) -> list[str]:
    """Keys of the source facts past their kind's period on ``today`` (sorted)."""
    cutoffs = {kind: years_before(today, years) for kind, years in years_by_kind.items() if kind in PURGEABLE_KINDS}
    if not cutoffs:
        return []
    return sorted(key for key, sf in state.source_facts.items() if _due(sf, cutoffs))


def _due(sf: SourceFact, cutoffs: Mapping[str, date]) -> bool:
    cutoff = cutoffs.get(sf.kind)
    if cutoff is None:
        return False
    day = last_day(sf)
    return day is not None and day < cutoff


def expired_in(state: LinkageState, years_by_kind: Mapping[str, int], today: date, after: str,
               limit: int) -> tuple[list[str], str | None]:
    """``expired`` over at most ``limit`` source facts, those whose keys follow ``after`` (in key order): the keys
    past their period among them, and the key to go on after (None: the scan is through). Each call's work is
    bounded, so a purge over millions of facts can let batches run between its steps."""
    cutoffs = {kind: years_before(today, years) for kind, years in years_by_kind.items() if kind in PURGEABLE_KINDS}
    if not cutoffs:
        return [], None
    entries, cursor = state.source_facts.slice(after, limit)
    return [key for key, sf in entries if _due(sf, cutoffs)], cursor


def forget_facts(state: LinkageState, keys: list[str]) -> Counter[str]:
    """Removes the source facts (and their dependency index entries) from the state; counts per kind."""
    counts: Counter[str] = Counter()
    for key in keys:
        sf = state.remove_source_fact(key)
        if sf is None:
            continue
        counts[sf.kind] += 1
    return counts
