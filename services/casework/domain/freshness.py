"""データの鮮度: when each source system was last heard from, in words staff read at a glance.

Pure: the time is passed in. A source silent for longer than its expected cadence is marked 「要確認」, and so is a
source never heard from: in both cases "no alert" may mean "no data", not "nothing wrong".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class SourceHeard:
    """What casework keeps per source system from ingest's reports (ingest.source_status.v1)."""

    system: str
    last_event_at: datetime
    events_24h: int
    counted_since: datetime | None
    silence_allowed_s: int | None
    reported_at: datetime


@dataclass(frozen=True)
class FreshnessRow:
    system: str
    label_ja: str
    last_event_at: datetime | None
    ago_ja: str  # 「2分前」, 「3日前」, or 「受信記録なし」
    silent: bool  # 「要確認」
    events_24h: int | None
    cadence_ja: str  # 「4日以内」, or 「—」 when no cadence is configured


def merged(stored: SourceHeard | None, incoming: SourceHeard) -> SourceHeard:
    """The report to keep: the newest one, with the newest last event time of either (never backwards)."""
    if stored is None:
        return incoming
    newer = incoming if incoming.reported_at >= stored.reported_at else stored
    return replace(newer, last_event_at=max(stored.last_event_at, incoming.last_event_at))


def relative_ja(then: datetime, now: datetime) -> str:
    """「たった今」, 「5分前」, 「3時間前」, 「12日前」 (a time in the future, a clock skew, reads as たった今)."""
    seconds = (now - then).total_seconds()
    if seconds < 60:
        return "たった今"
    if seconds < 3600:
        return f"{int(seconds // 60)}分前"
    if seconds < 86_400:
        return f"{int(seconds // 3600)}時間前"
    return f"{int(seconds // 86_400)}日前"


def duration_ja(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400}日"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}時間"
    return f"{max(1, seconds // 60)}分"


def is_silent(last_event_at: datetime | None, now: datetime, silence_allowed_s: int | None) -> bool:
    """Silent beyond the expected cadence, or never heard from. No cadence configured: never silent."""
    if last_event_at is None:
        return True
    if silence_allowed_s is None:
        return False
    return (now - last_event_at).total_seconds() > silence_allowed_s


def freshness_rows(heard: Iterable[SourceHeard], now: datetime, labels: Mapping[str, str],
                   cadence: Mapping[str, int], systems: Iterable[str] | None = None) -> list[FreshnessRow]:
    """One row per system in ``systems`` (default: every system in ``labels``), in that order. The cadence a
    report carried wins over ``cadence`` (ingest sends the one it was configured with)."""
    by_system = {h.system: h for h in heard}
    rows = []
    for system in systems if systems is not None else labels:
        h = by_system.get(system)
        allowed = h.silence_allowed_s if h is not None and h.silence_allowed_s else cadence.get(system)
        last = h.last_event_at if h is not None else None
        rows.append(FreshnessRow(
            system=system, label_ja=labels.get(system, system), last_event_at=last,
            ago_ja=relative_ja(last, now) if last is not None else "受信記録なし",
            silent=is_silent(last, now, allowed), events_24h=h.events_24h if h is not None else None,
            cadence_ja=f"{duration_ja(allowed)}以内" if allowed else "—"))
    return rows
