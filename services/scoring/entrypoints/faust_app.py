"""The scoring worker: linkage.facts.v1 → per-child state table (changelog) → scoring.flags.v1, plus the clock.

    python -m services.scoring.entrypoints.faust_app          # = worker --without-web -l <log_level>
    faust -A services.scoring.entrypoints.faust_app worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Callable
from typing import Any

import faust
from faust.types import EventT

from contracts.kafka_security import wait_for_broker
from contracts.lazy_app import lazy_app
from contracts.topics import FORGET_WITHIN_DAYS, linkage_facts, scoring_flags
from services.scoring.adapters.faust_consumer import GapSafeConsumer
from services.scoring.adapters.faust_table import FaustTableStore
from services.scoring.adapters.partition_watch import PartitionWatch
from services.scoring.adapters.rulebook import RulebookError
from services.scoring.bootstrap import Container, bootstrap
from services.scoring.entrypoints.faust_privacy import wire_deletions, wire_disclosures, wire_opt_outs
from services.scoring.service_layer.clock_duties import ClockDuties
from services.scoring.service_layer.handlers import (
    InvalidFactMessage,
    Published,
    decode_fact,
    handle_fact,
    settle_child,
    sweep_child,
)

log = logging.getLogger("tsunagu.scoring")
TABLE_NAME = "child-state"
SWEEP_CHUNK = 500


def create_app(container: Container) -> faust.App:
    settings, metrics = container.settings, container.metrics
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=settings.faust_broker_credentials(),
        value_serializer="raw",
        key_serializer="raw",
        datadir=str(settings.data_dir),
        store="memory://",
        topic_partitions=linkage_facts.TOPIC.partitions,
        topic_allow_declare=True,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        web_enabled=False,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 5),
        consumer_group_instance_id=settings.kafka_group_instance_id,
    )
    # Faust's consumer commits about one message per commit on input with gaps (see faust_consumer.py)
    app.transport.Consumer = GapSafeConsumer  # type: ignore[misc]
    facts_topic = app.topic(linkage_facts.TOPIC.name, key_type=bytes, value_type=bytes)
    flags_topic = app.topic(scoring_flags.TOPIC.name, key_type=bytes, value_type=bytes)
    # No key/value types: Faust then serialises both as JSON, so keys come back as str on recovery.
    # The changelog holds children's facts: a deleted child's tombstone removes them within about two days
    # (docs/privacy.md), as on linkage.children.v1. Faust applies these when it creates the changelog topic.
    table = app.Table(TABLE_NAME, default=None, partitions=linkage_facts.TOPIC.partitions,
                      extra_topic_configs=FORGET_WITHIN_DAYS)
    store = FaustTableStore(table)
    # the go-live hold, the partitions swept today, the children settling (service_layer/clock_duties.py)
    duties = ClockDuties(settings.publish_from, settings.absence_settle_seconds)
    deletions = wire_deletions(app, table, metrics, duties)  # privacy.deletions.v1 (docs/privacy.md)

    async def publish(published: Published, trigger: str) -> None:
        await flags_topic.send(key=published.child_id.encode(), value=published.value)
        data = published.envelope["data"]
        metrics.count_changes(data["raised_items"], data["cleared_items"])
        metrics.messages_published.labels(trigger=trigger).inc()
        metrics.observe_source(data)

    recovered_at = [0]  # app.rebalancing_count when the state table was last fully recovered
    watch: PartitionWatch[Any] = PartitionWatch(settings.stall_after_s)  # adapters/partition_watch.py

    @app.on_rebalance_complete.connect
    def recovered(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:  # Faust: the tables are restored
        recovered_at[0] = app.rebalancing_count

    def recovering() -> bool:
        return bool(app.rebalancing and recovered_at[0] != app.rebalancing_count)

    async def admitted(message: Any) -> bool:
        """Whether to score this message now (GapSafeConsumer.admit). While the table is being restored from its
        changelog, a fact scored would meet a child's state that is empty or old and publish a change from it:
        it is deferred — Faust seeks the partition back to its committed offset when the recovery ends, so it
        comes again, and it stays out of the commit until then. A later message of a partition with a deferred
        one waits too (order), and one already scored in this assignment is not scored twice."""
        consumer: Any = app.consumer
        still_recovering = recovering()
        watch.seen(message.tp, message.offset, time.monotonic())
        verdict = consumer.admit(message.tp, message.offset, still_recovering,
                                 contiguous=message.tp.topic == facts_topic.get_topic_name())
        if verdict == "score":
            return True
        if verdict == "jump":  # the fetch skipped messages this worker never saw (docs/kafka.md)
            tp, missing = message.tp, consumer.next_expected(message.tp)
            metrics.facts_processed.labels(outcome="deferred").inc()
            try:
                log_start = (await asyncio.wait_for(consumer.earliest_offsets(tp), timeout=10)).get(tp)
            except Exception:  # the broker is away: rewind; the next jump asks again
                log_start = None
            if log_start is not None and missing is not None and log_start > missing:
                metrics.fetch_jumps.labels(outcome="not_in_log").inc()
                log.warning("%s p%s: offsets @%s.. are no longer in the log (it starts @%s): going on from there",
                            tp.topic, tp.partition, missing, log_start)
                consumer.gap_not_in_log(tp, log_start)
            else:
                metrics.fetch_jumps.labels(outcome="rewound").inc()
                log.warning("%s p%s@%s delivered before @%s (the fetch jumped over messages never seen): rewinding",
                            tp.topic, tp.partition, message.offset, missing)
            await consumer.rewind(tp)
            return False
        metrics.facts_processed.labels(outcome="deferred" if verdict == "defer" else "delivered_again").inc()
        if verdict == "defer" and not still_recovering:
            log.info("%s p%s@%s came after a deferred message once the recovery ended: rewinding to @%s",
                     message.tp.topic, message.partition, message.offset, consumer.rewind_target(message.tp))
            await consumer.rewind(message.tp)
        return False

    wire_opt_outs(app, table, container, duties, publish, admitted)  # privacy.optouts.v1 (利用停止)
    wire_disclosures(app, table, metrics, admitted)  # privacy.disclosures.v1 (開示)

    async def handle_event(event: EventT) -> None:
        started = time.perf_counter()
        message = event.message
        if not await admitted(message):
            return
        try:
            event_id, fact = decode_fact(event.value, event.key)
        except InvalidFactMessage as exc:
            metrics.facts_failed.labels(reason=exc.reason).inc()
            log.warning("skipped linkage.facts.v1 message p%s@%s: %s (%s)",
                        message.partition, message.offset, exc.reason, exc.detail)
            return
        if deletions.forget_if_deletion(fact):  # the child was deleted on request: forget it, publish nothing
            return
        try:
            today = container.clock.today()
            outcome, published = handle_fact(fact, event_id=event_id, partition=message.partition, store=store,
                                             rulebook=container.rulebook, today=today,
                                             hold=duties.holding(today))
        except Exception as exc:  # a rule bug must not stop the partition: count, log (no values), skip
            metrics.facts_failed.labels(reason="evaluation_error").inc()
            log.error("could not score fact of kind %s at p%s@%s: %s", fact.kind, message.partition,
                      message.offset, type(exc).__name__)
            return
        if published is not None:
            await publish(published, "fact")
        duties.fact_arrived(fact.child_id, time.monotonic())
        metrics.facts_processed.labels(outcome=outcome).inc()
        metrics.processing_duration.observe(time.perf_counter() - started)

    # Batches: one changelog message per child per batch, not per fact (a child's facts arrive together in a
    # backlog). Every event still passes admitted(), in order. take_events acks a batch only after the loop body
    # returned, so the batch's changelog messages are queued before it (Faust flushes the producer before it
    # commits).
    @app.agent(facts_topic, concurrency=1)
    async def score(stream: Any) -> None:  # take_events is not on StreamT
        async for events in stream.take_events(settings.batch_max, within=settings.batch_window_s):
            with store.batch():
                for event in events:
                    await handle_event(event)

    async def by_clock(evaluate: Callable[..., Published | None], child_id: str, raw_state: dict[str, Any],
                       today: Any) -> None:
        """One child evaluated by the clock (the sweep, or settling): a rule bug is counted and logged, no values."""
        try:
            published = evaluate(child_id, raw_state, store=store, rulebook=container.rulebook, today=today)
        except Exception as exc:
            metrics.facts_failed.labels(reason="evaluation_error").inc()
            log.error("could not re-evaluate a child by the clock: %s", type(exc).__name__)
            return
        if published is not None:
            await publish(published, "clock")

    def active_partitions() -> set[int]:
        return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == facts_topic.get_topic_name()}

    @app.timer(interval=settings.sweep_interval_seconds)
    async def clock_sweep() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            return
        today = container.clock.today()
        if duties.holding(today):
            return  # the go-live load: nothing is published before PUBLISH_FROM, not even by the clock
        due = duties.due_for_sweep(today, active_partitions())
        if not due:
            return
        if await sweep(due, today):
            duties.swept(due, today)

    async def sweep(partitions: set[int], today: Any) -> bool:
        started = time.perf_counter()
        # The states are long-lived: frozen for the sweep, the cyclic GC does not walk them again and again
        # while the sweep allocates; unfrozen afterwards, so nothing is kept from collection for good.
        gc.freeze()
        try:
            return await _sweep(partitions, today, started)
        finally:
            gc.unfreeze()

    async def _sweep(partitions: set[int], today: Any, started: float) -> bool:
        children = [(k, v) for k, v in list(table.data.items()) if isinstance(v, dict) and v.get("p") in partitions]
        metrics.children.set(len(table.data))
        for index, (child_id, _listed) in enumerate(children):
            if index % SWEEP_CHUNK == 0 and index:
                await asyncio.sleep(0)  # let the agent run between chunks
                partitions = partitions & active_partitions()
                if app.rebalancing:
                    log.info("clock sweep interrupted by a rebalance; it resumes on the next tick")
                    return False
            # as it is now: a fact may have updated it while we yielded, a deletion (削除) removed it
            raw_state = table.data.get(child_id)
            if not isinstance(raw_state, dict) or raw_state.get("p") not in partitions:
                continue  # deleted, or revoked meanwhile: its new owner sweeps it
            await by_clock(sweep_child, child_id, raw_state, today)
        log.info("clock sweep for %s over %d children of partitions %s took %.2fs", today.isoformat(),
                 len(children), sorted(partitions), time.perf_counter() - started)
        metrics.sweep_duration.observe(time.perf_counter() - started)
        return True

    if duties.settle_after is not None:
        @app.timer(interval=min(5.0, duties.settle_after))
        async def settle() -> None:
            if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
                return
            today = container.clock.today()
            ready = duties.ready_to_settle(today, time.monotonic())
            if not ready:
                return
            actives = active_partitions()
            for child_id in ready:
                duties.stop_settling(child_id)
                raw_state = store.get(child_id)
                if raw_state is not None and raw_state.get("p") in actives:
                    await by_clock(settle_child, child_id, raw_state, today)

    watched_at = [-1]  # app.rebalancing_count at the watch's last tick

    @app.timer(interval=max(1.0, settings.stall_after_s / 3))
    async def watch_partitions() -> None:
        """An assigned facts partition with facts waiting and none delivered for ``stall_after_s`` has stopped
        fetching (adapters/partition_watch.py): resume it and seek it back to what is not yet committed. Counted
        (tsunagu_scoring_partition_stalls_total) and logged, partition and offsets only."""
        if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            metrics.partition_watch_checks.labels(result="rebalancing").inc()
            return
        consumer: Any = app.consumer
        tps = {tp for tp in app.assignor.assigned_actives() if tp.topic == facts_topic.get_topic_name()}
        now = time.monotonic()
        rebalanced = watched_at[0] != app.rebalancing_count
        watch.assigned(tps, now, rebalanced=rebalanced)
        watched_at[0] = app.rebalancing_count
        if not tps:
            metrics.partition_watch_checks.labels(result="no_partitions").inc()
            return
        for tp in tps:
            watch.committed(tp, consumer._committed_offset.get(tp))
        try:  # asked in the consumer's thread: bounded, so a stuck thread is itself noticed
            ends = await asyncio.wait_for(consumer.highwaters(*tps), timeout=settings.stall_after_s)
        except Exception as exc:  # the broker is away, or the consumer thread does not answer: ask next tick
            metrics.partition_watch_checks.labels(result="no_end_offsets").inc()
            log.warning("partition watch: end offsets of %s unavailable (%s)", sorted(tp.partition for tp in tps),
                        type(exc).__name__)
            return
        if rebalanced:
            log.info("partition watch: partitions %s, end offsets %s", sorted(tp.partition for tp in tps),
                     {tp.partition: end for tp, end in sorted(ends.items())})
        if app.rebalancing:
            metrics.partition_watch_checks.labels(result="rebalancing").inc()
            return
        metrics.partition_watch_checks.labels(result="checked").inc()
        for stall in watch.stalled(ends, time.monotonic()):
            tp = stall.tp
            target = consumer.stall_target(tp, stall.expected)
            log.warning("%s p%s: %s facts waiting (end @%s, expected @%s, committed @%s) and none delivered for "
                        "%.0fs: resuming the partition and seeking to @%s", tp.topic, tp.partition,
                        stall.end - (stall.expected or 0), stall.end, stall.expected,
                        consumer._committed_offset.get(tp), stall.idle_s, target)
            metrics.partition_stalls.labels(partition=str(tp.partition)).inc()
            consumer.resume_partitions({tp})
            consumer.on_buffer_drop(tp)  # back into the fetched set if flow control had left it out
            if target is not None:
                await consumer.seek(tp, target)
            app.flow_control.resume()
            consumer.resume_flow()
            watch.resumed(tp, time.monotonic(), target)

    @app.task
    async def quiet_client_logs() -> None:
        # Faust's worker leaves the root logger at DEBUG (its handlers filter), so aiokafka and Faust build a
        # debug record for every message sent and received (~8 % of the worker's CPU in a profile; ingest too).
        level = {"crit": "CRITICAL", "warn": "WARNING"}.get(settings.log_level, settings.log_level.upper())
        for name in ("", "aiokafka", "faust", "mode"):
            logging.getLogger(name).setLevel(level)

    if settings.metrics_port:
        @app.task
        async def start_metrics() -> None:
            from prometheus_client import start_http_server

            start_http_server(settings.metrics_port, addr="127.0.0.1")

    return app


__getattr__ = lazy_app(lambda: create_app(bootstrap()))  # ``faust -A``'s ``app``, built on first use


def main(argv: list[str] | None = None) -> None:
    try:
        container = bootstrap()
    except RulebookError as exc:
        sys.exit(f"tsunagu-scoring: refusing to start: {exc}")
    settings = container.settings
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        args = ["worker", "--without-web", "-l", settings.log_level]
    if args[0] == "worker":
        logging.basicConfig(level=logging.INFO,
                            format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        wait_for_broker(settings.kafka_bootstrap, settings.kafka_retry_max_s, settings.kafka_client_options(),
                        logger="tsunagu.scoring")
    app = create_app(container)
    sys.argv = [sys.argv[0], *args]  # faust's App.main reads its command line from sys.argv
    app.main()


if __name__ == "__main__":
    main()
