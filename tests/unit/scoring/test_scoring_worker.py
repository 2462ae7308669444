"""The scoring worker's batch and clock (entrypoints/worker.py ``Scoring``) with a fake producer: facts in → flags
and one changelog message per child out, acknowledged before the batch returns; deletions by retraction or request
tombstone the row on its own partition and publish nothing; a rebalance forgets the state held and interrupts a
clock evaluation between chunks."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from prometheus_client import CollectorRegistry

from contracts.envelope import envelope_dict
from contracts.topics.linkage_facts import PROGRESS_EVENT_TYPE, ProgressV1
from contracts.topics.privacy_deletions import EVENT_TYPE, DeletionRequestV1
from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.adapters.clock import FixedClock
from services.scoring.bootstrap import Container
from services.scoring.config import ScoringSettings
from services.scoring.entrypoints import worker
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.state import WORKING
from tests.unit.scoring.factories import FUKUOKA, envelope, fact_dict

pytestmark = pytest.mark.unit
TODAY = date(2026, 6, 1)
CHANGELOG = "tsunagu-scoring-child-state-changelog"


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class FakeBuilder:
    """aiokafka's BatchBuilder as far as the worker uses it; full after ``capacity`` records."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes | None, bytes | None]] = []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None, headers: Any) -> object | None:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """Records each record sent, alone or in a record batch, with its partition; acknowledges later, not at once."""

    def __init__(self, batch_capacity: int = 3) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, int | None]] = []
        self.unacknowledged: list[asyncio.Future[None]] = []
        self.changelog_sent_before_flags_acknowledged = False
        self.batch_capacity = batch_capacity
        self.requests = 0  # sends and batches handed over

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(6))

    def create_batch(self) -> FakeBuilder:
        return FakeBuilder(self.batch_capacity)

    async def send_batch(self, batch: FakeBuilder, topic: str, *, partition: int) -> asyncio.Future[None]:
        return self._handed(topic, [(key, value, partition) for key, value in batch.records])

    async def send(self, topic: str, value: bytes | None, *, key: bytes | None = None,
                   partition: int | None = None) -> asyncio.Future[None]:
        return self._handed(topic, [(key, value, partition)])

    def _handed(self, topic: str, records: list[tuple[bytes | None, bytes | None, int | None]]) -> asyncio.Future[None]:
        flags = [f for (t, *_), f in zip(self.sent, self.unacknowledged, strict=True) if t != CHANGELOG]
        if topic == CHANGELOG and not all(f.done() for f in flags):
            self.changelog_sent_before_flags_acknowledged = True
        self.requests += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(future.set_result, None)  # acknowledged later, not at once
        for key, value, partition in records:
            self.sent.append((topic, key, value, partition))
            self.unacknowledged.append(future)
        return future

    def on(self, topic: str) -> list[tuple[bytes | None, bytes | None, int | None]]:
        return [(k, v, p) for t, k, v, p in self.sent if t == topic]


def scoring(**settings: Any) -> tuple[worker.Scoring, FakeProducer, ScoringMetrics]:
    metrics = ScoringMetrics(CollectorRegistry())
    container = Container(ScoringSettings(**settings), FUKUOKA, FixedClock(TODAY), metrics)
    producer = FakeProducer()
    return worker.Scoring(container, ChangelogStore(CHANGELOG), producer), producer, metrics  # type: ignore[arg-type]


def flagged_facts(child: str, partition: int, offset: int = 0) -> list[Rec]:
    out = []
    for n, data in enumerate((
            fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from="2021-04-01",
                      birth_date="2015-05-01", sex="1", ward_code="40133", resident_since="2021-04-01"),
            fact_dict("public_assistance", fact_id=f"pa-{child}", child_id=child, relation="household",
                      case_no="C1", valid_from="2026-04-01"))):
        out.append(Rec("linkage.facts.v1", partition, offset + n, child.encode(), envelope(data)))
    return out


def deletion_retraction(child: str, partition: int) -> Rec:
    data = {"fact_id": f"pa-{child}", "child_id": child, "kind": "public_assistance", "relation": "household",
            "status": "retracted", "source_system": "public_assistance", "record_id": "privacy-deletion:req-1",
            "record_date": None, "valid_from": None, "valid_to": None, "attributes": {}, "version": 2}
    return Rec("linkage.facts.v1", partition, 99, child.encode(), envelope(data))


def deletion_request(child: str) -> Rec:
    request = DeletionRequestV1(request_id="req-1", child_id=child, requested_by="本人",
                                requested_at="2026-06-01T10:00:00+09:00")
    value = json.dumps(envelope_dict(data=request, type_=EVENT_TYPE, source="/t", subject=child)).encode()
    return Rec("privacy.deletions.v1", 0, 0, child.encode(), value)


def test_a_batch_publishes_the_changes_and_writes_each_child_once_all_acknowledged_before_it_returns() -> None:
    s, producer, metrics = scoring()
    WORKING.take("w1", None), WORKING.take("w2", None)
    asyncio.run(s([*flagged_facts("w1", 4), *flagged_facts("w2", 1)]))
    flags = producer.on("scoring.flags.v1")
    assert {k for k, _, _ in flags} == {b"w1", b"w2"}
    raised = [orjson.loads(v)["data"]["raised_items"] for _, v, _ in flags]  # type: ignore[arg-type]
    assert all(items for items in raised), raised
    changelog = producer.on(CHANGELOG)
    assert sorted((k, p) for k, _, p in changelog) == [(b'"w1"', 4), (b'"w2"', 1)]  # once per child, own partition
    assert all(f.done() for f in producer.unacknowledged), "returned before the broker acknowledged"
    assert not producer.changelog_sent_before_flags_acknowledged, "the state could get ahead of the output"
    assert metrics.messages_published.labels(trigger="fact")._value.get() == len(flags)
    assert metrics.children._value.get() == 2  # the gauge follows the state held


def test_a_batchs_flags_and_changelog_go_in_record_batches_to_the_partitions_one_send_each_would_use() -> None:
    s, producer, _ = scoring()
    children = [f"rb{n}" for n in range(12)]
    for child in children:
        WORKING.take(child, None)
    asyncio.run(s([record for n, child in enumerate(children) for record in flagged_facts(child, n % 2)]))
    flags, changelog = producer.on("scoring.flags.v1"), producer.on(CHANGELOG)
    assert sorted(k or b"" for k, _, _ in flags) == sorted(c.encode() for c in children)
    # the producer's default partitioner for a keyed record (murmur2 of the key over the six partitions)
    assert all(p == (aiokafka_murmur2(k) & 0x7FFFFFFF) % 6 for k, _, p in flags)
    assert sorted((k, p) for k, _, p in changelog) == sorted((f'"{c}"'.encode(), n % 2) for n, c in enumerate(children))
    assert producer.requests < len(flags) + len(changelog)  # several records per request, not one send each
    assert not producer.changelog_sent_before_flags_acknowledged


def test_a_replayed_batch_publishes_nothing_new() -> None:
    s, producer, _ = scoring()
    batch = flagged_facts("r1", 2)
    asyncio.run(s(batch))
    before = len(producer.on("scoring.flags.v1"))
    asyncio.run(s(batch))  # delivered again after a crash before the commit
    assert len(producer.on("scoring.flags.v1")) == before


def test_deletions_tombstone_the_row_on_its_partition_whichever_way_they_come_and_publish_nothing() -> None:
    s, producer, metrics = scoring(absence_settle_seconds=4.0)
    asyncio.run(s([*flagged_facts("d1", 5), *flagged_facts("d2", 1)]))
    published = len(producer.on("scoring.flags.v1"))
    assert "d1" in s.duties.settling
    asyncio.run(s([deletion_retraction("d1", 5), deletion_request("d2"), deletion_request("d2")]))
    assert s.store.data == {} and s.duties.settling == {}
    assert [(k, v, p) for k, v, p in producer.on(CHANGELOG)[-2:]] == [(b'"d1"', None, 5), (b'"d2"', None, 1)]
    assert len(producer.on("scoring.flags.v1")) == published
    assert metrics.deletions.labels(via="fact", outcome="deleted")._value.get() == 1
    assert metrics.deletions.labels(via="request", outcome="not_held")._value.get() == 1  # the redelivery


def test_a_bad_message_is_counted_and_the_rest_of_the_batch_flows() -> None:
    s, producer, metrics = scoring()
    batch = [Rec("linkage.facts.v1", 0, 0, b"x", b"not json"), *flagged_facts("b1", 0, 1),
             Rec("privacy.deletions.v1", 0, 1, None, b"junk")]
    asyncio.run(s(batch))
    assert {k for k, _, _ in producer.on("scoring.flags.v1")} == {b"b1"}
    assert metrics.facts_failed.labels(reason="invalid_deletion")._value.get() == 1
    assert sum(metrics.facts_failed.labels(reason=r)._value.get() for r in ("invalid_json", "invalid_envelope",
                                                                              "invalid_fact")) >= 1


def test_each_fact_handled_is_counted_and_timed_once_per_batch() -> None:
    s, _, metrics = scoring()
    batch = [Rec("linkage.facts.v1", 0, 0, b"x", b"not json"), *flagged_facts("b1", 0, 1), *flagged_facts("b2", 1)]
    asyncio.run(s(batch))
    asyncio.run(s(flagged_facts("b1", 0, 1)))  # delivered again: nothing changes
    counted = {outcome: metrics.facts_processed.labels(outcome=outcome)._value.get()
               for outcome in ("flags_changed", "no_change", "stale", "opted_out")}
    assert counted == {"flags_changed": 2, "no_change": 4, "stale": 0, "opted_out": 0}
    histogram = {s.name: s.value for m in metrics.processing_duration.collect() for s in m.samples
                 if s.name.endswith(("_count", "_sum"))}
    assert histogram["tsunagu_scoring_processing_duration_seconds_count"] == 6  # the bad message is not timed
    assert 0 < histogram["tsunagu_scoring_processing_duration_seconds_sum"] < 5


def test_a_rebalance_forgets_the_state_held_and_interrupts_a_clock_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    s, _, _ = scoring()
    loaded: list[set[int]] = []

    async def fake_restore(store: ChangelogStore, partitions: set[int], **_: Any) -> int:
        loaded.append(set(partitions))
        return 0

    monkeypatch.setattr(worker, "restore", fake_restore)
    monkeypatch.setattr(worker, "SWEEP_CHUNK", 1)

    async def go() -> bool:
        await s.assigned({TopicPartition("linkage.facts.v1", 0), TopicPartition("linkage.facts.v1", 1),
                          TopicPartition("privacy.optouts.v1", 0), TopicPartition("privacy.deletions.v1", 2)})
        await s([*flagged_facts("k1", 0), *flagged_facts("k2", 1)])
        lock = asyncio.Lock()
        seen: list[str] = []

        def evaluate(child_id: str, raw: dict[str, Any], **_: Any) -> None:
            seen.append(child_id)

        async def rebalance_after_first_chunk() -> None:
            while not seen:
                await asyncio.sleep(0)
            async with lock:
                await s.revoked(set())

        task = asyncio.create_task(rebalance_after_first_chunk())
        done = await s.by_clock(lock, ["k1", "k2"], evaluate, TODAY)
        await task
        assert seen == ["k1"], "the second chunk ran after the rebalance"
        return done

    assert asyncio.run(go()) is False
    assert loaded == [{0, 1}], "only linkage.facts.v1's partitions are loaded (the opt-outs share them)"
    assert s.store.data == {} and s.held == set()


def disclosure_request(child: str, request_id: str) -> Rec:
    from contracts.topics.privacy_disclosures import DisclosureRequestV1

    request = DisclosureRequestV1(request_id=request_id, child_id=child, requested_at="2026-06-01T10:00:00+09:00")
    return Rec("privacy.disclosures.v1", 3, 0, child.encode(), request.model_dump_json().encode())


def test_a_disclosure_request_is_answered_from_the_state_at_its_place_in_the_batch_and_only_for_its_child() -> None:
    s, producer, metrics = scoring()
    asyncio.run(s([*flagged_facts("q1", 3), disclosure_request("q1", "req-a"), disclosure_request("nobody", "req-b"),
                   Rec("privacy.disclosures.v1", 3, 1, b"x", b"junk")]))
    replies = {k: orjson.loads(v)["data"] for k, v, _ in producer.on("privacy.disclosure_replies.v1")}  # type: ignore[arg-type]
    assert set(replies) == {b"req-a", b"req-b"}
    assert replies[b"req-a"]["held"] is True and replies[b"req-a"]["child_id"] == "q1"
    assert replies[b"req-b"]["held"] is False
    assert b"q1" not in orjson.dumps(replies[b"req-b"])  # nothing of another child
    assert metrics.disclosures.labels(outcome="invalid")._value.get() == 1


def test_the_clock_decodes_only_the_cold_children_it_evaluates() -> None:
    s, _, _ = scoring()
    s.store = ChangelogStore(CHANGELOG, hot_capacity=0, on_evict=WORKING.forget)
    asyncio.run(s([*flagged_facts("k1", 1), *flagged_facts("k2", 2)]))
    assert s.store.hot == 0 and len(s.store) == 2  # both written, both cold after the batch
    states = s.store.data
    reviews: list[dict[str, Any]] = []
    evaluated: list[tuple[str, dict[str, Any]]] = []
    decoded: list[str] = []
    get = s.store.get
    s.store.get = lambda child_id: decoded.append(child_id) or get(child_id)  # type: ignore[method-assign]

    def due(review: dict[str, Any]) -> bool:
        reviews.append(review)
        return len(reviews) == 1  # the first child asked is due, the second not

    def evaluate(child_id: str, raw_state: dict[str, Any], **_: Any) -> None:
        evaluated.append((child_id, raw_state))

    asyncio.run(s.by_clock(asyncio.Lock(), ["k1", "k2", "gone"], evaluate, TODAY, due=due))
    assert [r["d"] for r in reviews] == [TODAY.isoformat()] * 2  # "gone" is not held: not asked
    assert evaluated == [("k1", states["k1"])] and decoded == ["k1"]
    assert s.store.hot == 0  # evicted again by the chunk's flush


def test_the_clock_reads_the_cold_children_it_evaluates_all_of_in_one_query_a_chunk() -> None:
    s, _, _ = scoring()
    s.store = ChangelogStore(CHANGELOG, hot_capacity=0, on_evict=WORKING.forget)
    asyncio.run(s([*flagged_facts("k1", 1), *flagged_facts("k2", 2)]))
    states = s.store.data
    queries: list[str] = []
    spill = s.store.spill
    one, many = spill._one, spill.states
    spill._one = lambda sql, args: queries.append(sql.split(" FROM")[0]) or one(sql, args)  # type: ignore[method-assign]
    spill.states = lambda children: queries.append(f"states {children}") or many(children)  # type: ignore[method-assign]
    evaluated: list[tuple[str, dict[str, Any]]] = []

    def evaluate(child_id: str, raw_state: dict[str, Any], **_: Any) -> None:
        evaluated.append((child_id, raw_state))

    asyncio.run(s.by_clock(asyncio.Lock(), ["k2", "gone", "k1"], evaluate, TODAY))
    assert evaluated == [("k2", states["k2"]), ("k1", states["k1"])]
    assert queries == ["states ['gone', 'k1', 'k2']"]  # neither a review nor a state read per child


def with_source_time(records: list[Rec], source_time: str) -> list[Rec]:
    """The facts as if their source events had happened at ``source_time`` (a backlog's, or a live one's)."""
    for rec in records:
        data = orjson.loads(rec.value)  # type: ignore[arg-type]
        data["data"]["source_time"] = source_time
        rec.value = orjson.dumps(data)
    return records


def test_facts_of_a_backlog_are_published_as_the_settled_assessment_once_it_is_through() -> None:
    """docs/scoring.md "Backlogs": facts whose source events are older than ``catch_up_after_s`` publish nothing
    as they come; once none has come for ``catch_up_quiet_s`` the child's assessment is published, once."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.01)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    backlog = with_source_time(flagged_facts("b1", 3), old)
    asyncio.run(s(backlog))
    assert producer.on("scoring.flags.v1") == [] and list(s.duties.caught_up) == ["b1"]
    assert len(producer.on(CHANGELOG)) == 1  # the facts are recorded all the same

    async def through() -> None:
        await asyncio.sleep(0.02)
        await s.catch_up(asyncio.Lock())

    asyncio.run(through())
    [(key, value, _)] = producer.on("scoring.flags.v1")
    data = orjson.loads(value)["data"]  # type: ignore[arg-type]
    assert key == b"b1" and data["raised_items"] and data["source_time"] == old  # the backlog's last fact
    assert s.duties.caught_up == {} and s.duties.source_times == {}
    asyncio.run(through())
    assert len(producer.on("scoring.flags.v1")) == 1


def test_a_fresh_fact_publishes_at_once() -> None:
    s, producer, _ = scoring(catch_up_after_s=60)
    fresh = with_source_time(flagged_facts("f1", 2), datetime.now(UTC).isoformat())
    asyncio.run(s(fresh))
    assert [k for k, _, _ in producer.on("scoring.flags.v1")] == [b"f1"] and s.duties.caught_up == {}


def test_the_days_sweep_leaves_the_children_waiting_for_a_backlog_to_catch_up() -> None:
    """Held facts leave a child unevaluated; the sweep (which concludes absences) must not evaluate it mid-backlog:
    pipeline_e2e at 0.05 raised item 3 for thousands of children whose checkups were still on their way."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.01)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    backlog = with_source_time(flagged_facts("s1", 3), old)
    s.held = {3}
    asyncio.run(s(backlog))
    asyncio.run(s.sweep(asyncio.Lock()))
    assert producer.on("scoring.flags.v1") == [] and "s1" in s.duties.caught_up


def test_a_child_waiting_for_a_backlog_at_the_days_sweep_has_its_absences_concluded_by_the_next_days() -> None:
    """An infant with no 3–4 month checkup by 17 months: item 3, which only the clock concludes. ``p1`` waited for
    its backlog while the day's sweep ran: once through it gets a fact's evaluation (its checkup may still be on
    its way: a backlog's quiet cannot say — linkage's output paused for 31 s in pipeline_e2e at 0.25), and the
    next day's sweep raises item 3. Concluding it at the release raised item 3 for 47 397 children in that
    drain, each cleared minutes later by its checkup."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.01)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    data = fact_dict("residence", fact_id="res-p1", child_id="p1", valid_from="2025-01-01",
                     birth_date="2025-01-01", sex="1", ward_code="40133", resident_since="2025-01-01")
    s.held = {3}
    asyncio.run(s(with_source_time([Rec("linkage.facts.v1", 3, 0, b"p1", envelope(data))], old)))
    asyncio.run(s.sweep(asyncio.Lock()))  # the day's sweep: p1 waits

    async def through() -> None:
        await asyncio.sleep(0.02)
        await s.catch_up(asyncio.Lock())

    asyncio.run(through())
    assert s.duties.caught_up == {}
    assert all(3 not in orjson.loads(value)["data"]["raised_items"]  # type: ignore[arg-type]
               for _, value, _ in producer.on("scoring.flags.v1"))
    s.container.clock.day = TODAY + timedelta(days=1)  # type: ignore[attr-defined]
    asyncio.run(s.sweep(asyncio.Lock()))
    [*_, (key, value, _)] = producer.on("scoring.flags.v1")
    assert key == b"p1" and orjson.loads(value)["data"]["raised_items"] == [3]  # type: ignore[arg-type]


class Ends:
    """What ``read_all`` asks the consumer: its assignment, the facts partitions' end offsets, the group's commits."""

    def __init__(self, ends: dict[int, int], committed: dict[int, int] | None = None) -> None:
        self.ends, self.commits = ends, committed or {}

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("linkage.facts.v1", p) for p in self.ends} | {TopicPartition("privacy.optouts.v1", 0)}

    async def end_offsets(self, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
        assert all(tp.topic == "linkage.facts.v1" for tp in partitions)
        return {tp: self.ends[tp.partition] for tp in partitions}

    async def committed(self, tp: TopicPartition) -> int | None:
        return self.commits.get(tp.partition)


def test_the_input_is_read_when_every_facts_partition_was_handled_or_committed_to_its_end() -> None:
    def read_all(ends: dict[int, int], committed: dict[int, int] | None = None) -> bool:
        s._quiet_ends = None  # each case asks the broker afresh
        return asyncio.run(s.read_all(Ends(ends, committed)))

    s, _, _ = scoring()
    asyncio.run(s(flagged_facts("r1", 3, offset=40)))  # offsets 40 and 41
    assert s.read_to == {3: 42}
    assert read_all({3: 42, 4: 7}, committed={4: 7})
    assert not read_all({3: 43, 4: 7}, committed={4: 7})  # one more fact in partition 3
    assert not read_all({3: 42, 4: 7}, committed={4: 5})  # 4: nothing handled, its commit behind
    assert not read_all({3: 42, 4: 7})  # 4: never committed
    assert read_all({3: 42, 4: 0})  # 4: nothing ever sent to it
    asyncio.run(s.revoked(set()))
    assert s.read_to == {} and s._quiet_ends is None and read_all({3: 42}, committed={3: 42})


def test_a_quiet_backlog_is_not_through_while_its_facts_wait_in_the_topic() -> None:
    """A stall (a 7.9 s sweep in pipeline_e2e at 0.25) made the backlog look quiet minutes before linkage was
    through: every waiting child was released on a partial history. Quiet and read to the end, it is through."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.01)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    asyncio.run(s(with_source_time(flagged_facts("q1", 3), old)))  # offsets 0 and 1

    async def later(ends: dict[int, int]) -> None:
        await asyncio.sleep(0.02)
        await s.catch_up(asyncio.Lock(), lambda: s.read_all(Ends(ends)))

    asyncio.run(later({3: 4}))  # quiet, but two more facts of the backlog wait in partition 3
    assert producer.on("scoring.flags.v1") == [] and list(s.duties.caught_up) == ["q1"]
    asyncio.run(later({3: 4}))
    assert producer.on("scoring.flags.v1") == []  # still
    asyncio.run(s(with_source_time(flagged_facts("q2", 3, offset=2), old)))  # read: the quiet starts again
    asyncio.run(later({3: 4}))
    assert [key for key, _, _ in producer.on("scoring.flags.v1")] == [b"q1", b"q2"] and s.duties.caught_up == {}


def test_live_facts_after_a_backlog_do_not_keep_it_from_being_through() -> None:
    """What was in the topic when the backlog fell quiet must be read; what came after (live facts, 200 a second
    in a city: some are always on their way) need not."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.01)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    asyncio.run(s(with_source_time(flagged_facts("w1", 3), old)))  # offsets 0 and 1: held

    async def later(ends: dict[int, int]) -> None:
        await asyncio.sleep(0.02)
        await s.catch_up(asyncio.Lock(), lambda: s.read_all(Ends(ends)))

    asyncio.run(later({3: 3}))  # a live fact at offset 2 on its way
    assert producer.on("scoring.flags.v1") == []
    now = datetime.now(UTC).isoformat()
    asyncio.run(s(with_source_time(flagged_facts("live", 3, offset=2)[:1], now)))  # read: offset 2
    asyncio.run(later({3: 9}))  # more live facts meanwhile
    assert b"w1" in [key for key, _, _ in producer.on("scoring.flags.v1")] and s.duties.caught_up == {}


def progress_record(partition: int, offset: int, source_time: str, unread: int | None = None) -> Rec:
    """Linkage's progress report as its worker writes it (services/linkage/service_layer/messages.py)."""
    data = ProgressV1(records=500, source_time=source_time, reporter="linkage-1", unread=unread).model_dump(mode="json")
    value = orjson.dumps(envelope_dict(data=data, type_=PROGRESS_EVENT_TYPE, source="/tsunagu/linkage", subject=None))
    return Rec("linkage.facts.v1", partition, offset, f"linkage-progress:{partition}".encode(), value)


def test_a_backlog_is_not_through_while_linkage_reports_working_through_it_without_facts() -> None:
    """pipeline_e2e at 0.25: linkage's records gave no facts for 55 s (adults' registry records), scoring took the
    silence for the backlog's end and released 63 059 children on their registry facts alone. Linkage's progress
    reports keep the backlog going; they are neither facts nor failures, and name no child."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=0.05)
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    asyncio.run(s(with_source_time(flagged_facts("p1", 3), old)))  # offsets 0 and 1: held

    async def later(record: Rec | None) -> None:
        await asyncio.sleep(0.03)
        if record is not None:
            await s([record])
        await s.catch_up(asyncio.Lock(), lambda: s.read_all(Ends({3: record.offset + 1 if record else 3})))

    for offset in (2, 3, 4):  # a report every 0.03 s, each within the quiet of the one before
        asyncio.run(later(progress_record(3, offset, old)))
        assert producer.on("scoring.flags.v1") == [] and list(s.duties.caught_up) == ["p1"]
    asyncio.run(later(None))
    asyncio.run(later(None))  # quiet: linkage reports no more
    assert [key for key, _, _ in producer.on("scoring.flags.v1")] == [b"p1"]
    assert s.metrics.facts_failed._metrics == {}, "a report is not a failed fact"
    assert "linkage-progress:3" not in s.store.data


def test_a_malformed_progress_report_is_counted_and_skipped() -> None:
    s, _, _ = scoring(catch_up_after_s=60)
    asyncio.run(s([Rec("linkage.facts.v1", 3, 0, b"linkage-progress:3", b'{"not": "a report"}')]))
    assert [labels for labels in s.metrics.facts_failed._metrics] == [("invalid_progress",)]


def test_children_stay_held_past_the_bound_while_linkage_reports_its_backlog_shrinking() -> None:
    """A recovery being worked through: held children are published once, on their settled history, not every
    ``CATCH_UP_MAX_HOLD_S``; once linkage's unread records stop falling, the bound publishes them."""
    s, producer, _ = scoring(catch_up_after_s=60, catch_up_quiet_s=5, catch_up_max_hold_s=0.1,
                             catch_up_drain_hold_s=600)
    s.duties.drain_window = 0.06
    old = datetime.fromtimestamp(time.time() - 3600, tz=UTC).isoformat()
    asyncio.run(s(with_source_time(flagged_facts("p1", 3), old)))  # offsets 0 and 1: held

    async def report(offset: int, unread: int) -> None:
        await s([progress_record(3, offset, old, unread)])
        await asyncio.sleep(0.03)
        await s.catch_up(asyncio.Lock(), lambda: s.read_all(Ends({3: offset + 1})))

    for offset, unread in enumerate(range(10_000, 1_000, -1_000), start=2):
        asyncio.run(report(offset, unread))
    assert producer.on("scoring.flags.v1") == [] and list(s.duties.caught_up) == ["p1"], \
        "held 0.27 s, past the bound of 0.1 s, while the backlog shrinks"
    assert s.metrics.backlog_upstream_unread._value.get() == 2_000, "operators see linkage's backlog"
    for offset in (11, 12, 13, 14):
        asyncio.run(report(offset, 2_000))  # level: the pipeline stays behind
    assert [key for key, _, _ in producer.on("scoring.flags.v1")] == [b"p1"]
