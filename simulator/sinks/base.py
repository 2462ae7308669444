"""The sink protocol and the report every sink returns (counts per topic, never names)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from simulator.events import SourceEvent


@dataclass
class SendReport:
    sent: Counter[str] = field(default_factory=Counter)  # per topic
    failed: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)  # reasons without personal data, capped

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def fail(self, topic: str, reason: str) -> None:
        self.failed[topic] += 1
        if len(self.failures) < 20:
            self.failures.append(f"{topic}: {reason}")

    def lines(self) -> list[str]:
        out = [f"  {topic:<40} {n:>9}" for topic, n in sorted(self.sent.items())]
        out.append(f"  {'total':<40} {self.total:>9}")
        out += [f"  FAILED {topic:<33} {n:>9}" for topic, n in sorted(self.failed.items())]
        return out


class Sink(Protocol):
    def send(self, event: SourceEvent) -> None: ...

    def close(self) -> SendReport: ...
