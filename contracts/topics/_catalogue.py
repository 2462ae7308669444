"""The topic catalogue type: every topic Tsunagu creates, with partitions, retention and compaction."""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000


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
