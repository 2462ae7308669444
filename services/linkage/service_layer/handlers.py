"""The linkage service: decodes batches at the edge, handles them, commits state and outbox together."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.progress import Progress
from contracts.topics import linkage_children
from contracts.topics.ingest_records import RecordV1
from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.person_retention import expired_persons
from services.linkage.domain.retention import expired_in, forget_facts
from services.linkage.domain.review_retention import expired_reviews, forget_reviews
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.decisions import handle_decision
from services.linkage.service_layer.messages import dead_letter, encode
from services.linkage.service_layer.ports import Clock, Message, Store
from services.linkage.service_layer.privacy import admit, forget_expired
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change, Out

log = logging.getLogger("tsunagu.linkage")
PURGE_SLICE = 2_000  # source facts read per step of the retention purge (the setting's default)


RecordEnvelope = Envelope[RecordV1]  # the parametrised model once (``Envelope[RecordV1]`` per record: ≈ 7 µs)


def decode_record(value: bytes) -> Envelope[RecordV1]:
    """An ingest.records.v1 value, validated (``ValidationError`` if it is not one)."""
    return RecordEnvelope.model_validate_json(value)


@dataclass(frozen=True)
class Incoming:
    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int


class LinkageService:
    """``store`` None: the state lives in memory only (benchmarks, the ground-truth comparison)."""

    def __init__(self, state: LinkageState, store: Store | None, metrics: LinkageMetrics,
                 match_settings: MatchSettings, source_uri: str, *, clock: Clock) -> None:
        self.state, self.store, self.metrics = state, store, metrics
        self.match_settings, self.source_uri, self.clock = match_settings, source_uri, clock
        self._outcomes: dict[str, Any] = {}  # the counters' children by label (labels() per record cost ≈ 3 µs)
        self._channels: dict[str, Any] = {}
        self._published: Counter[str] = Counter()  # messages encoded since the last commit, by channel
        self.progress = Progress(0.0, 30.0)  # the worker's settings set it (contracts/progress.py)

    def handle_records(self, batch: Sequence[Incoming]) -> list[tuple[int, Message]]:
        messages: list[Message] = []
        outcomes: Counter[str] = Counter()  # counted per batch: a counter's inc() per record cost ≈ 1.5 µs
        durations: list[float] = []  # observed per batch too (LinkageMetrics.observe_batch)
        source_times: list[str | None] = []
        for item in batch:
            started = time.perf_counter()
            try:
                envelope = decode_record(item.value)
            except ValidationError as exc:
                reason = f"invalid record: {', '.join(sorted({'.'.join(map(str, e['loc'])) for e in exc.errors()}))}"
                messages.append(dead_letter(item.value, item.key, reason[:300], "invalid_data",
                                            (item.topic, item.partition, item.offset)))
                self.metrics.records_failed.labels("invalid_record").inc()
                self.metrics.records_processed.labels("deadletter").inc()
                continue
            record = admit(envelope.data, self.state)  # without persons deleted on request
            if record is None:
                self.metrics.records_processed.labels("deleted").inc()
                continue
            try:
                result = handle_record(record, Change(self.state, record.occurred_at), self.match_settings)
            except Exception as exc:  # a bug must not stop the stream; the record is kept for replay
                log.exception("record handling failed (%s)", type(exc).__name__)
                messages.append(dead_letter(item.value, item.key, f"handler_error: {type(exc).__name__}",
                                            "invalid_value", (item.topic, item.partition, item.offset),
                                            envelope.id))
                self.metrics.records_failed.labels("handler_error").inc()
                self.metrics.records_processed.labels("deadletter").inc()
                continue
            messages += self._encode(result.out, record.source_time)
            outcomes[result.outcome] += 1
            durations.append(time.perf_counter() - started)
            source_times.append(record.source_time)
        self.metrics.observe_batch(durations, source_times, self.clock.now())  # the batch handled: its records too
        self.progress.handled(len(batch), source_times[-1] if source_times else None)
        for outcome, n in outcomes.items():
            counter = self._outcomes.get(outcome)
            if counter is None:
                counter = self._outcomes[outcome] = self.metrics.records_processed.labels(outcome)
            counter.inc(n)
        return self._commit(messages)

    def handle_decisions(self, batch: Sequence[Incoming]) -> list[tuple[int, Message]]:
        messages: list[Message] = []
        for item in batch:
            try:
                decision = ReviewDecisionV1.model_validate_json(item.value)
            except ValidationError:
                try:
                    decision = Envelope[ReviewDecisionV1].model_validate_json(item.value).data
                except ValidationError:
                    self.metrics.records_failed.labels("invalid_decision").inc()
                    continue
            outcome, out = handle_decision(decision, Change(self.state, decision.decided_at),
                                           self.match_settings)
            self.metrics.decisions_applied.labels(decision.decision, outcome).inc()
            messages += self._encode(out)
        return self._commit(messages)

    def purge_expired(self, years_by_kind: Mapping[str, int], today: date, review_days: int = 0,
                      person_years: int = 0, slice_size: int = PURGE_SLICE) -> list[tuple[int, Message]]:
        """The whole retention purge at once (``purge_steps`` one after another); the outbox entries of them all."""
        sent: list[tuple[int, Message]] = []
        for entries in self.purge_steps(years_by_kind, today, review_days, person_years, slice_size):
            sent += entries
        return sent

    def purge_steps(self, years_by_kind: Mapping[str, int], today: date, review_days: int = 0,
                    person_years: int = 0, slice_size: int = PURGE_SLICE) -> Iterator[list[tuple[int, Message]]]:
        """Retention (docs/privacy.md): source facts past their kind's period, decided reviews older than
        ``review_days`` and children who left the city ``person_years`` ago and are needed by nobody (0: kept) leave
        the state and the store. In steps, each its own transaction, each yielding its outbox entries: the source
        facts ``slice_size`` at a time in key order (reading them all at once held the worker for minutes at city
        scale), then the reviews and persons. The caller may run batches between two steps (the worker does): a
        step reads the state as it is then; a fact a batch adds behind the scan waits for the next run. Only the
        persons' removal publishes (retractions that make scoring forget them, tombstones for
        linkage.children.v1). Logs and counts kinds and numbers only."""
        counts: Counter[str] = Counter()
        after: str | None = ""
        while years_by_kind and after is not None:
            keys, after = expired_in(self.state, years_by_kind, today, after, slice_size)
            removed = forget_facts(self.state, keys)
            for kind, n in removed.items():
                self.metrics.retention_purged.labels(kind).inc(n)
            counts += removed
            yield self._commit([]) if keys else []
        reviews = forget_reviews(self.state, expired_reviews(self.state, review_days, today)) if review_days else 0
        if reviews:
            self.metrics.retention_purged.labels("decided_review").inc(reviews)
        messages: list[Message] = []
        persons = expired_persons(self.state, person_years, today) if person_years else []
        if persons:
            gone = forget_expired(self.state, persons, today.isoformat(), f"{today.isoformat()}T00:00:00+09:00")
            self.metrics.retention_purged.labels("person").inc(gone.counts.get("persons", 0))
            messages += self._encode(gone.facts)
            for child_id in gone.tombstones:
                self.metrics.messages_published.labels("child_tombstone").inc()
                messages.append((linkage_children.TOPIC.name, child_id.encode(), None, {}))
        self.metrics.retention_runs.labels("ok").inc()
        log.info("retention purge: %d source facts removed %s; %d decided reviews removed; %d persons removed",
                 sum(counts.values()), " ".join(f"{kind}={n}" for kind, n in sorted(counts.items())), reviews,
                 len(persons))
        yield self._commit(messages)

    def _encode(self, outs: list[Out], source_time: str | None = None) -> list[Message]:
        published = self._published
        for out in outs:
            published[out.channel] += 1
        return [encode(out, self.source_uri, source_time) for out in outs]

    def _commit(self, messages: list[Message]) -> list[tuple[int, Message]]:
        for channel, n in self._published.items():  # counted per batch: inc() per message cost ≈ 1.5 µs
            counter = self._channels.get(channel)
            if counter is None:
                counter = self._channels[channel] = self.metrics.messages_published.labels(channel)
            counter.inc(n)
        self._published.clear()
        self.metrics.persons.set(len(self.state.persons))
        self.metrics.open_reviews.set(sum(1 for r in self.state.reviews.values() if not r.decided))
        if self.store is None:
            self.state.clear_dirty()
            return list(enumerate(messages))
        return self.store.commit(self.state, messages)
