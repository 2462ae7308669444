"""The scoring worker: linkage.facts.v1, privacy.optouts.v1, privacy.deletions.v1 and privacy.disclosures.v1 in;
per-child state (memory, changelog topic) → scoring.flags.v1 (and privacy.disclosure_replies.v1); and the clock.

    python -m services.scoring.entrypoints.worker          # metrics on TSUNAGU_SCORING_METRICS_PORT

A consumer group member (``APP_ID``) reading batches of records with aiokafka (``contracts/kafka_batches.py``), not
Faust agents: Faust's stream cost ≈ 0.14 ms of CPU per message before any rule ran (docs/scaling.md), and its
fetcher skipped facts after rebalances (docs/kafka.md). The group uses the range assignor, so an instance holds the
same partitions of linkage.facts.v1, privacy.optouts.v1 and the changelog (all keyed by child, 6 partitions).

Each batch: its records in order through their use case (a fact, an opt-out, a deletion request), the children's
changed states collected; then the flags messages are sent and acknowledged (acks=all), then one changelog message
per changed child, acknowledged; then the offsets are committed. At-least-once: a kill before the commit handles
the batch again from the state the changelog holds, and a change recomputed from the same state has the same message id
(casework drops the duplicate). On a rebalance the batch in hand finishes first; an instance forgets the state it
held and loads the state of its new partitions from the changelog before it handles anything (adapters/
changelog_store.py). The clock (daily sweep, settling, go-live hold: service_layer/clock_duties.py) runs between
batches under the same lock. SIGTERM/SIGINT: the batch in hand is finished and committed, the group left.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, get_args

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from contracts import kafka_batches
from contracts.histograms import observe_each
from contracts.kafka_batches import BatchConsumer
from contracts.topics import FORGET_WITHIN_DAYS, linkage_facts, scoring_flags
from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from contracts.topics.privacy_disclosures import REPLY_TOPIC as DISCLOSURE_REPLIES
from contracts.topics.privacy_disclosures import REQUEST_TOPIC as DISCLOSURES
from contracts.topics.privacy_disclosures import decode_request
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.scoring.adapters.changelog_store import ChangelogStore, restore
from services.scoring.adapters.record_batches import send_partitioned
from services.scoring.adapters.rulebook import RulebookError
from services.scoring.bootstrap import Container, bootstrap
from services.scoring.service_layer.clock_duties import ClockDuties
from services.scoring.service_layer.disclosure import reply as disclosure_reply
from services.scoring.service_layer.handlers import (
    InvalidFactMessage,
    Outcome,
    Published,
    decode_fact,
    handle_fact,
    needs_review,
    release_child,
    settle_child,
    sweep_child,
)
from services.scoring.service_layer.messages import decode_progress, is_progress
from services.scoring.service_layer.opt_out import InvalidOptOut, decode_opt_out, handle_opt_out
from services.scoring.service_layer.privacy import decode_deletion, forget_child, is_deletion
from services.scoring.service_layer.state import WORKING

log = logging.getLogger("tsunagu.scoring")
FACTS, FLAGS = linkage_facts.TOPIC.name, scoring_flags.TOPIC.name
CHANGELOG_SUFFIX = "-child-state-changelog"  # the name the Faust table had: a deployment's state carries over
SWEEP_CHUNK = 500  # children evaluated by the clock between two batches


class Scoring:
    """The worker's state and use cases around one batch (``__call__``) and the clock (``sweep``, ``settle``)."""

    def __init__(self, container: Container, store: ChangelogStore, producer: AIOKafkaProducer) -> None:
        self.container, self.store, self.producer = container, store, producer
        self.metrics = container.metrics
        settings = container.settings
        self.duties = ClockDuties(settings.publish_from, settings.absence_settle_seconds,
                                  catch_up_after=settings.catch_up_after_s, catch_up_quiet=settings.catch_up_quiet_s,
                                  catch_up_max_hold=settings.catch_up_max_hold_s,
                                  catch_up_drain_hold=settings.catch_up_drain_hold_s)
        self.held: set[int] = set()  # the facts partitions whose state is loaded
        self.read_to: dict[int, int] = {}  # facts partition → the offset after the last fact handled (``read_all``)
        self._quiet_ends: tuple[float, dict[TopicPartition, int]] | None = None  # when asked, the end offsets
        self.generation = 0  # changes at every rebalance (a sweep between chunks notices)
        self._published: list[tuple[Published, str]] = []
        # the per-fact metrics' labelled children, looked up once (``labels`` costs more than ``inc``)
        self._outcomes = {outcome: self.metrics.facts_processed.labels(outcome=outcome)
                          for outcome in get_args(Outcome)}
        self._triggers = {trigger: self.metrics.messages_published.labels(trigger=trigger)
                          for trigger in ("fact", "opt_out", "clock")}
        self._replies: list[tuple[bytes, bytes]] = []  # disclosure replies of the batch
        # the batch's facts: outcomes counted and durations listed, added to the metrics once per batch
        # (``count_facts``: a labelled ``inc`` and a histogram ``observe`` per fact were ≈ 1.4 % of the CPU)
        self._counted: dict[str, int] = dict.fromkeys(self._outcomes, 0)
        self._durations: list[float] = []
        self._out = kafka_batches.ProduceBatch(producer)  # the flags and replies of a batch, as record batches

    # -- rebalances (BatchConsumer's hooks, under its lock) -----------------------------------------------------
    async def revoked(self, _revoked: set[TopicPartition]) -> None:
        self.generation += 1
        self.read_to.clear()
        self._quiet_ends = None
        forgotten = self.store.drop_partitions(self.held)
        self.held = set()
        self.metrics.children.set(len(self.store))
        log.info("partitions revoked: %d children's state forgotten", forgotten)

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        self.generation += 1
        partitions = {tp.partition for tp in assigned if tp.topic == FACTS}
        settings = self.container.settings
        started = time.monotonic()
        self.store.drop_partitions(self.store.partitions() - partitions)
        try:
            await restore(self.store, partitions, bootstrap=settings.kafka_bootstrap,
                          security=settings.kafka_client_options(), client_id=f"{settings.app_id}-restore",
                          timeout_s=settings.restore_timeout_s)
        except asyncio.CancelledError:  # the group rebalanced during the load (BatchConsumer._load)
            self.store.drop_partitions(partitions)
            self.metrics.children.set(len(self.store))
            raise
        self.held = partitions
        self.metrics.children.set(len(self.store))
        self.metrics.restore_duration.observe(time.monotonic() - started)
        log.info("assigned %s partitions %s", FACTS, sorted(partitions))

    # -- a batch ------------------------------------------------------------------------------------------------
    async def __call__(self, records: Sequence[Any]) -> None:
        today = self.container.clock.today()
        hold = self.duties.holding(today)
        # the facts' children held cold, read in one query (a fact's key is its child's id: ``decode_fact``)
        self.store.read_ahead(record.key.decode("utf-8", "replace") for record in records
                              if record.topic == FACTS and record.key is not None and not is_progress(record.key))
        read_to = self.read_to
        for record in records:
            if record.topic == FACTS:
                self._fact(record, today, hold)
                read_to[record.partition] = record.offset + 1
            elif record.topic == OPTOUTS.name:
                self._opt_out(record, today, hold)
            elif record.topic == DELETIONS.name:
                self._deletion_request(record)
            elif record.topic == DISCLOSURES.name:
                self._disclosure(record)
        self.count_facts()
        await self.send()
        self.metrics.children.set(len(self.store))

    def _fact(self, record: Any, today: date, hold: bool) -> None:
        if is_progress(record.key):
            self._progress(record)
            return
        started = time.perf_counter()
        metrics = self.metrics
        try:
            event_id, fact = decode_fact(record.value, record.key)
        except InvalidFactMessage as exc:
            metrics.facts_failed.labels(reason=exc.reason).inc()
            log.warning("skipped linkage.facts.v1 message p%s@%s: %s (%s)", record.partition, record.offset,
                        exc.reason, exc.detail)
            return
        if is_deletion(fact):  # the child was deleted on request: forget it, publish nothing
            self._forget(fact.child_id, "fact")
            return
        behind = not hold and self.duties.behind(fact.child_id, fact.source_time, time.time())
        try:
            outcome, published = handle_fact(fact, event_id=event_id, partition=record.partition, store=self.store,
                                             rulebook=self.container.rulebook, today=today, hold=hold or behind)
        except Exception as exc:  # a rule bug must not stop the partition: count, log (no values), skip
            metrics.facts_failed.labels(reason="evaluation_error").inc()
            log.error("could not score fact of kind %s at p%s@%s: %s", fact.kind, record.partition, record.offset,
                      type(exc).__name__)
            return
        if published is not None:
            self._published.append((published, "fact"))
        if behind and outcome != "stale":
            self.duties.held_back(fact.child_id, time.monotonic(), fact.source_time)
        self.duties.fact_arrived(fact.child_id, time.monotonic())
        self._counted[outcome] += 1
        self._durations.append(time.perf_counter() - started)

    def _progress(self, record: Any) -> None:
        """Linkage's progress report: while it works through a backlog, its silence is not the backlog's end."""
        try:
            report = decode_progress(record.value)
        except InvalidFactMessage as exc:
            self.metrics.facts_failed.labels(reason=exc.reason).inc()
            log.warning("skipped linkage.facts.v1 message p%s@%s: %s (%s)", record.partition, record.offset,
                        exc.reason, exc.detail)
            return
        data = report.data
        self.duties.upstream_working(data.source_time, time.time(), time.monotonic(), reporter=data.reporter,
                                     unread=data.unread, written=report.time.timestamp(), records=data.records)

    def count_facts(self) -> None:
        """The batch's fact outcomes and handling times into the metrics, each counter and histogram bucket added to
        once (contracts/histograms.py ``observe_each``)."""
        counted, durations = self._counted, self._durations
        for outcome, count in counted.items():
            if count:
                self._outcomes[outcome].inc(count)
                counted[outcome] = 0
        observe_each(self.metrics.processing_duration, durations)
        durations.clear()

    def _opt_out(self, record: Any, today: date, hold: bool) -> None:
        metrics = self.metrics
        try:
            child_id, opt = decode_opt_out(record.key, record.value)
        except InvalidOptOut as exc:
            metrics.facts_failed.labels(reason=f"opt_out_{exc.reason}").inc()
            log.warning("skipped a privacy.optouts.v1 message at p%s@%s: %s", record.partition, record.offset,
                        exc.reason)
            return
        try:
            outcome, published = handle_opt_out(child_id, opt, partition=record.partition, store=self.store,
                                                 rulebook=self.container.rulebook, today=today, hold=hold)
        except Exception as exc:  # a rule bug on withdrawal: count, log (no values), skip
            metrics.facts_failed.labels(reason="evaluation_error").inc()
            log.error("could not apply an opt-out at p%s@%s: %s", record.partition, record.offset,
                      type(exc).__name__)
            return
        if published is not None:
            self._published.append((published, "opt_out"))
        metrics.opt_outs.labels(outcome=outcome).inc()

    def _deletion_request(self, record: Any) -> None:
        """privacy.deletions.v1 (3 partitions, not co-partitioned): the instance that reads it forgets the child at
        once if it holds it; the deletion retraction on the child's facts partition reaches the one that does."""
        request = decode_deletion(record.value)
        if request is None:
            self.metrics.facts_failed.labels(reason="invalid_deletion").inc()
            log.warning("skipped an undecodable deletion request at p%s@%s", record.partition, record.offset)
            return
        self._forget(request.child_id, "request")

    def _disclosure(self, record: Any) -> None:
        """privacy.disclosures.v1 (開示; co-partitioned with the facts, so this instance holds the child if anyone
        does): service_layer/disclosure.py's reply from the child's state as it is at this point of the batch, sent
        on privacy.disclosure_replies.v1 with the batch's flags (ids only in the log)."""
        request = decode_request(record.value)
        if request is None:
            self.metrics.disclosures.labels(outcome="invalid").inc()
            log.warning("skipped an undecodable disclosure request at p%s@%s", record.partition, record.offset)
            return
        outcome, key, value = disclosure_reply(request, self.store, now=datetime.now(UTC))
        self._replies.append((key, value))
        self.metrics.disclosures.labels(outcome=outcome).inc()
        log.info("disclosure request %s answered (%s)", request.request_id, outcome)

    def _forget(self, child_id: str, via: str) -> None:
        self.duties.forget(child_id)
        held = forget_child(child_id, self.store)
        self.metrics.deletions.labels(via=via, outcome="deleted" if held else "not_held").inc()

    async def send(self) -> None:
        """The flags messages, acknowledged; then the changelog, acknowledged; then the children past the hot set go
        cold. In that order: a kill between the two leaves the state behind the output, so the facts read again
        recompute the same changes (same ids, which casework drops) — never the state ahead of the output, where
        the facts read again would be stale and a change that never reached the broker would be lost. Both go to
        the producer as record batches (one per partition), not one ``send`` each."""
        published, self._published = self._published, []
        replies, self._replies = self._replies, []
        if published or replies:
            out = self._out
            await out.topics(FLAGS, DISCLOSURE_REPLIES.name)  # their partitions, learnt once
            for key, value in replies:
                out.add(DISCLOSURE_REPLIES.name, value, key=key)
            for message, trigger in published:
                out.add(FLAGS, message.value, key=message.child_id.encode())
                data = message.envelope["data"]
                self.metrics.count_changes(data["raised_items"], data["cleared_items"])
                self._triggers[trigger].inc()
                self.metrics.observe_source(data)
            await asyncio.gather(*(future for future, _, _ in await out.send()))
        changes = self.store.changes()
        if changes:
            await asyncio.gather(*await send_partitioned(self.producer, self.store.topic, changes))
        self.store.evict()

    # -- the clock ----------------------------------------------------------------------------------------------
    async def by_clock(self, lock: asyncio.Lock, children: list[str], evaluate: Callable[..., Published | None],
                       today: date, due: Callable[[dict[str, Any]], bool] | None = None,
                       source_times: Callable[[str], str | None] | None = None) -> bool:
        """Evaluates the children still held, in chunks between batches; False when a rebalance interrupted it.
        ``due``: asked first of what the store keeps for the clock (``review_state``), so a child it refuses is not
        decoded (the sweep's ``needs_review``, which ``sweep_child`` asks again of the whole state); without it the
        store is asked once (``get``), not twice: a backlog's release evaluates every child it lists.
        ``source_times``: a child's source time to carry on its message (the backlog's last fact, ``catch_up``)."""
        generation = self.generation
        for start in range(0, len(children), SWEEP_CHUNK):
            async with lock:
                if generation != self.generation:
                    log.info("clock evaluation interrupted by a rebalance; it resumes on the next tick")
                    return False
                if due is None:  # every child is evaluated (with ``due`` most are not even decoded)
                    self.store.read_ahead(children[start:start + SWEEP_CHUNK])
                for child_id in children[start:start + SWEEP_CHUNK]:
                    source_time = source_times(child_id) if source_times is not None else None
                    if due is not None:  # (without ``due``, ``get`` alone says whether the child is still held)
                        review = self.store.review_state(child_id)
                        if review is None or not due(review):
                            continue  # deleted meanwhile, or nothing for the clock to do
                    raw_state = self.store.get(child_id)  # as it is now: a fact may have changed it meanwhile
                    if raw_state is None:
                        continue  # deleted meanwhile
                    try:
                        published = evaluate(child_id, raw_state, store=self.store,
                                             rulebook=self.container.rulebook, today=today)
                    except Exception as exc:
                        self.metrics.facts_failed.labels(reason="evaluation_error").inc()
                        log.error("could not re-evaluate a child by the clock: %s", type(exc).__name__)
                        continue
                    if published is not None:
                        if source_time is not None:
                            published.envelope["data"]["source_time"] = source_time
                        self._published.append((published, "clock"))
                await self.send()
            await asyncio.sleep(0)  # a batch, a rebalance and the client's heartbeat run between chunks
        return True

    async def sweep(self, lock: asyncio.Lock) -> None:
        today = self.container.clock.today()
        due = self.duties.due_for_sweep(today, self.held)
        if not due:
            return
        started = time.perf_counter()
        # their facts wait for a backlog to be through: ``catch_up`` evaluates them, and the next day's sweep
        # concludes their absences (docs/scoring.md "Backlogs")
        waiting = self.duties.caught_up
        children = [c for c in self.store.children(due) if c not in waiting]
        gc.freeze()  # the states are long-lived: the cyclic GC does not walk them again and again meanwhile
        try:
            rulebook = self.container.rulebook
            done = await self.by_clock(lock, children, sweep_child, today,
                                       due=lambda review: needs_review(review, today, rulebook))
        finally:
            gc.unfreeze()
        if done:
            self.duties.swept(due, today)
            log.info("clock sweep for %s over %d children of partitions %s took %.2fs (%d waiting for a backlog)",
                     today.isoformat(), len(children), sorted(due), time.perf_counter() - started, len(waiting))
            self.metrics.sweep_duration.observe(time.perf_counter() - started)
        self.metrics.children.set(len(self.store))

    async def read_all(self, consumer: Any) -> bool:
        """Whether every fact that was in this instance's partitions of linkage.facts.v1 when the backlog fell
        quiet has been handled: the broker's end offsets then (asked once per quiet: a backlog fact handled since
        starts another) against what the batches handled (the group's commit for a partition none has reached
        since the assignment). Facts that came after are live ones, or backlog facts that end the quiet when they
        are read: live traffic going on after a backlog does not keep it from being through.

        The quiet (``catch_up_quiet_s``) alone is not enough: a process that stalls — a sweep, its CPU taken by
        the stages ahead of it (``CPU_NICE``) — reads nothing for seconds while the backlog waits in the topic;
        pipeline_e2e at 0.25 released 53 694 children 2 s after a 7.9 s sweep, minutes before linkage was through.
        A pause upstream is another matter (linkage's output stopped for up to 31 s in that drain): nothing waits in
        the topic then, so it still ends a backlog early, and a release therefore never concludes an absence."""
        partitions = [tp for tp in consumer.assignment() if tp.topic == FACTS]
        if not partitions:
            return True
        if self._quiet_ends is None or self._quiet_ends[0] < self.duties.last_backlog:
            self._quiet_ends = (time.monotonic(), await consumer.end_offsets(partitions))
        ends = self._quiet_ends[1]
        for tp in partitions:
            done = self.read_to.get(tp.partition)
            if done is None:
                committed = await consumer.committed(tp)
                done = committed if committed is not None else 0
            if done < ends.get(tp, 0):
                return False
        return True

    async def catch_up(self, lock: asyncio.Lock, read_all: Callable[[], Awaitable[bool]] | None = None,
                       unread: Callable[[], int | None] = lambda: None) -> None:
        """The children whose assessments waited for a backlog to be through (``catch_up_after_s``): evaluated now
        on all their facts (``release_child``: absences still wait for the clock) and published when changed. The
        backlog is through when it has been quiet and ``read_all`` says nothing is left to read. ``unread``: the
        facts not read yet (the reader's), for whether the backlog shrinks (``ClockDuties.draining``)."""
        today, now = self.container.clock.today(), time.monotonic()
        own = unread()
        if own is not None:
            self.duties.own_backlog(own)
        if read_all is not None and self.duties.owes_release(today, now):
            self.duties.unread = not await read_all()  # facts of the backlog may wait to be read: it goes on
        ready = self.duties.caught_up_now(today, now)
        if ready:
            how = "through" if self.duties.through(now) else "held_too_long"
            self.metrics.backlog_released.labels(how=how).inc(len(ready))
            log.info("%s: publishing the held assessments of %d children%s",
                     "a backlog is through" if how == "through" else "held too long", len(ready),
                     "" if how == "through" else f" ({self.duties.drain_state(now)})")
            await self.by_clock(lock, ready, release_child, today, source_times=self.duties.source_time_of)
        self.metrics.backlog_waiting.set(len(self.duties.caught_up))
        self.metrics.backlog_upstream_unread.set(self.duties.upstream_unread(now))

    async def settle(self, lock: asyncio.Lock) -> None:
        today = self.container.clock.today()
        ready = self.duties.ready_to_settle(today, time.monotonic())
        for child_id in ready:
            self.duties.stop_settling(child_id)
        if ready:
            await self.by_clock(lock, ready, settle_child, today)


async def ensure_changelog(container: Container, topic: str) -> None:
    """Creates the changelog topic if it is missing: compacted, with the bounded compaction that makes a deletion's
    tombstone remove a child's facts within days (contracts.topics.FORGET_WITHIN_DAYS, docs/privacy.md)."""
    settings = container.settings
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id=f"{settings.app_id}-admin",
                                **settings.kafka_client_options())
    await admin.start()
    try:
        if topic in set(await admin.list_topics()):
            return
        configs = {"cleanup.policy": "compact", **FORGET_WITHIN_DAYS}
        try:
            await admin.create_topics([NewTopic(topic, linkage_facts.TOPIC.partitions, 1, topic_configs=configs)])
            log.info("created the state changelog topic %s", topic)
        except TopicAlreadyExistsError:
            pass  # another instance created it meanwhile
    finally:
        await admin.close()


def tune_gc(young_threshold: int) -> None:
    """Runs the cyclic garbage collector's youngest generation less often (``GC_YOUNG_THRESHOLD``; the older ones'
    thresholds unchanged). Each fact replaces a few dicts of its child's state and its parsed copy; at Python's
    700 the collections that follow (and the full ones their survivors bring on, over every state held) took
    ≈ 30 % of the worker's CPU (docs/scoring.md, "CPU"). Nothing in the state forms a cycle (freed at once by
    reference counting); what does (aiokafka's futures, tracebacks) waits a little longer to be collected."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)


async def run(container: Container, stop: asyncio.Event) -> None:
    """The worker until ``stop`` is set (or a send fails, or the state cannot be loaded: then it raises, with the
    batch uncommitted)."""
    settings = container.settings
    tune_gc(settings.gc_young_threshold)
    changelog = f"{settings.app_id}{CHANGELOG_SUFFIX}"
    await ensure_changelog(container, changelog)
    store = ChangelogStore(changelog, hot_capacity=settings.hot_children, on_evict=WORKING.forget)
    producer = kafka_batches.producer(bootstrap=settings.kafka_bootstrap, client_id=f"{settings.app_id}-worker",
                                      security=settings.kafka_client_options())
    consumer = kafka_batches.consumer(
        bootstrap=settings.kafka_bootstrap, group_id=settings.app_id, client_id=f"{settings.app_id}-worker",
        group_instance_id=settings.kafka_group_instance_id, session_timeout_s=settings.kafka_session_timeout_s,
        security=settings.kafka_client_options(), co_partitioned=True)
    scoring = Scoring(container, store, producer)
    reader = BatchConsumer(consumer, max_records=settings.batch_max, window_s=settings.batch_window_s,
                           name="scoring", on_revoked=scoring.revoked, on_assigned=scoring.assigned)
    consumer.subscribe([FACTS, OPTOUTS.name, DELETIONS.name, DISCLOSURES.name], listener=reader.listener())
    await producer.start()
    try:
        await consumer.start()
        duties = [asyncio.create_task(kafka_batches.every(
            settings.sweep_interval_seconds, lambda: scoring.sweep(reader.lock), stop, name="clock sweep"))]
        if scoring.duties.catch_up_after is not None:
            read_all = partial(scoring.read_all, consumer)
            duties.append(asyncio.create_task(kafka_batches.every(
                min(1.0, settings.catch_up_quiet_s),
                lambda: scoring.catch_up(reader.lock, read_all, lambda: reader.unread(FACTS)), stop,
                name="catch-up")))
        if scoring.duties.settle_after is not None:
            duties.append(asyncio.create_task(kafka_batches.every(
                min(5.0, scoring.duties.settle_after), lambda: scoring.settle(reader.lock), stop, name="settling")))
        try:
            await reader.run(scoring, stop)
        finally:
            for task in duties:
                task.cancel()
            await consumer.stop()  # leaves the group
    finally:
        await producer.stop()


def main() -> None:
    try:
        container = bootstrap()
    except RulebookError as exc:
        sys.exit(f"tsunagu-scoring: refusing to start: {exc}")
    settings = container.settings
    kafka_batches.worker_logging(settings.log_level)
    kafka_batches.worker_priority(settings.cpu_nice)  # 0 unless set: docs/scaling.md, One machine
    kafka_batches.serve("scoring", lambda stop: run(container, stop), bootstrap=settings.kafka_bootstrap,
                        retry_max_s=settings.kafka_retry_max_s, client_options=settings.kafka_client_options(),
                        metrics_port=settings.metrics_port)


if __name__ == "__main__":
    main()
