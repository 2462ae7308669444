"""The topic catalogue type: every topic Tsunagu creates, with partitions, retention and compaction."""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000
# A compacted topic (or table changelog) holding a child's data forgets a deleted child within about two days
# (docs/privacy.md, 削除): a record can be compacted away at most max.compaction.lag.ms after it was written (the
# active segment is rolled then too; segment.ms bounds it as well), whatever the dirty ratio; the tombstone itself
# stays delete.retention.ms for readers to see, then goes.
FORGET_WITHIN_DAYS: dict[str, str] = {"max.compaction.lag.ms": str(DAY_MS), "segment.ms": str(DAY_MS),
                                      "min.cleanable.dirty.ratio": "0.1", "delete.retention.ms": str(DAY_MS)}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    key: str  # what the record key is, in words
    retention_ms: int = 30 * DAY_MS
    compacted: bool = False
    description: str = ""
    extra_config: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, str]:
        cfg = {
            "cleanup.policy": "compact" if self.compacted else "delete",
            "retention.ms": "-1" if self.compacted else str(self.retention_ms),
        }
        cfg.update(self.extra_config)
        return cfg
