"""Re-publishing dead letters to their source topic after a fix (contract, code or source data).

The original key, value and headers go back unchanged (the DLQ headers are dropped, a
``tsunagu.replay.of`` header is added), so the worker sees exactly what the source sent. Each dead letter
is replayed once unless asked again; an event that was accepted meanwhile is dropped by the worker's dedup.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from contracts.sources import SYSTEM_BY_TOPIC
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.service_layer.ports import Ledger, Publisher, delivered

REPLAY_HEADER = "tsunagu.replay.of"


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class ReplayFilter:
    system: str | None = None
    error_class: str | None = None
    event_id: str | None = None

    def matches(self, headers: DeadLetterHeaders) -> bool:
        return ((self.system is None or headers.system == self.system)
                and (self.error_class is None or headers.error_class == self.error_class)
                and (self.event_id is None or headers.event_id == self.event_id))


@dataclass
class ReplayReport:
    replayed: Counter[str] = field(default_factory=Counter)  # by system
    not_matching: int = 0
    replayed_before: int = 0
    not_replayable: int = 0
    publish_failures: int = 0
    last_offset: int | None = None


def replay(dead_letters: Iterable[DeadLetter], *, publisher: Publisher, ledger: Ledger,
           only: ReplayFilter, again: bool = False, dry_run: bool = False) -> ReplayReport:
    report = ReplayReport()
    sent: list[tuple[str, object]] = []
    for letter in dead_letters:
        report.last_offset = letter.offset
        headers = DeadLetterHeaders.from_kafka(letter.headers)
        if not only.matches(headers):
            report.not_matching += 1
            continue
        ledger_id = f"dlq:{letter.partition}:{letter.offset}"
        if not again and ledger.outcome(ledger_id) == "replayed":
            report.replayed_before += 1
            continue
        if headers.topic not in SYSTEM_BY_TOPIC or (letter.value is None and headers.error_class == "too_large"):
            # not from a source topic (e.g. an unknown one), or an over-size event kept without its body
            report.not_replayable += 1
            continue
        report.replayed[headers.system or SYSTEM_BY_TOPIC[headers.topic].system] += 1
        if dry_run:
            continue
        original = [(k, v) for k, v in letter.headers if not k.startswith("tsunagu.dlq.") and k != REPLAY_HEADER]
        future = publisher.publish(headers.topic, letter.key, letter.value,
                                   [*original, (REPLAY_HEADER, ledger_id.encode())])
        sent.append((ledger_id, future))
    if not dry_run:
        publisher.flush()
        # Only what the broker confirmed counts as replayed; the rest is tried again next time.
        confirmed = [ledger_id for ledger_id, future in sent if delivered(future)]
        report.publish_failures = len(sent) - len(confirmed)
        ledger.record((ledger_id, "replayed") for ledger_id in confirmed)
    return report
