"""Two ingest workers in one consumer group on the real broker: they split the partitions, and what they emit is
exactly what one handler emits for the same events (same keys, same bytes), each once; when one stops (SIGTERM)
while both are working through a backlog, the other takes its partitions over and nothing is emitted twice or
lost (each finishes and commits the batch in hand before giving its partitions up).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from prometheus_client import CollectorRegistry

from contracts.sources import SOURCE_SYSTEMS
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, Rejected, SourceMessage, process
from tests.kafka_reader import end_offsets, wait_committed

from .conftest import KafkaKit

pytestmark = pytest.mark.integration
SOURCE_PARTITIONS = 3 * len(SOURCE_SYSTEMS)


class FixedClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def members(bootstrap: str, group: str) -> list[set[tuple[str, int]]]:
    """Each member's assigned partitions, when the group is Stable (else [])."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        description = admin.describe_groups([group])[group]
        if description.get("group_state") != "Stable":
            return []
        found = []
        for member in description.get("members", []):
            assignment = member.get("member_assignment") or {}
            if hasattr(assignment, "partitions"):
                found.append({(tp.topic, tp.partition) for tp in assignment.partitions()})
                continue
            tps = assignment.get("assigned_partitions") or assignment.get("assignment") or []
            found.append({(t, p) for t, ps in _pairs(tps) for p in ps})
        return found
    finally:
        admin.close()


def _pairs(tps: Any) -> list[tuple[str, list[int]]]:
    if isinstance(tps, dict):
        return [(t, list(ps)) for t, ps in tps.items()]
    out = []
    for item in tps:
        if isinstance(item, dict):
            out.append((str(item.get("topic")), list(item.get("partitions", []))))
        else:
            out.append((item[0], list(item[1])))
    return out


def wait_members(bootstrap: str, group: str, count: int, timeout_s: float = 90) -> list[set[tuple[str, int]]]:
    deadline = time.monotonic() + timeout_s
    found: list[set[tuple[str, int]]] = []
    while time.monotonic() < deadline:
        found = members(bootstrap, group)
        if len(found) == count and all(found):
            return found
        time.sleep(1)
    raise AssertionError(f"group {group} did not settle on {count} members with partitions: {found}")


def publish(bootstrap: str, tag: str, rounds: int) -> list[tuple[str, int, bytes, bytes, int]]:
    """Every event type ``rounds`` times with keys spread over the partitions, a poison event per round; returns
    (topic, partition, key, value, timestamp_ms) as the broker stored them."""
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    futures = []
    stamp = int(time.time() * 1000) - 60_000
    for r in range(rounds):
        for i, event_type in enumerate(sorted(PAYLOADS)):
            key, value = f"k{r}-{i}".encode(), json.dumps(example_event(event_type, event_id=f"{tag}-{r}-{i}")).encode()
            futures.append((key, value, stamp, producer.send(topic_of(event_type), key=key, value=value,
                                                             timestamp_ms=stamp)))
        key, value = f"poison-{r}".encode(), f"{tag} poison {r}".encode()
        futures.append((key, value, stamp, producer.send("source.childcare.v1", key=key, value=value,
                                                         timestamp_ms=stamp)))
    producer.flush()
    producer.close()
    return [(meta.topic, meta.partition, key, value, ts) for key, value, ts, f in futures for meta in [f.get(10)]]


def expected(sent: list[tuple[str, int, bytes, bytes, int]]) -> tuple[Counter[tuple[bytes, bytes]], Counter[bytes]]:
    """What one handler gives for these events: records (key, value) and dead-lettered source values."""
    dedup, metrics = MemoryDedupStore(), IngestMetrics(CollectorRegistry())
    records: Counter[tuple[bytes, bytes]] = Counter()
    dead: Counter[bytes] = Counter()
    for offset, (topic, partition, key, value, ts) in enumerate(sent):
        outcome = process(SourceMessage(topic, partition, offset, key, value, [], ts / 1000), dedup=dedup,
                          metrics=metrics, max_event_bytes=1 << 20)
        if isinstance(outcome, Accepted):
            records[(outcome.key, outcome.value)] += 1
        elif isinstance(outcome, Rejected):
            dead[value] += 1
    return records, dead


def emitted(kit: KafkaKit, bootstrap: str, starts: dict[str, Any], tag: str, records: int, dead: int,
            ) -> tuple[Counter[tuple[bytes, bytes]], Counter[bytes]]:
    got = kit.read_from(bootstrap, starts["records"], until=records, match=tag.encode(), timeout_s=120, quiet_s=3)
    letters = kit.read_from(bootstrap, starts["dead"], until=dead, match=tag.encode(), timeout_s=60, quiet_s=1)
    return (Counter((k or b"", v or b"") for k, v, _ in got), Counter(v or b"" for _, v, _ in letters))


def committed_to_end(bootstrap: str, group: str, timeout_s: float = 60) -> None:
    """Every source topic's offsets committed by ``group`` up to their ends as they are now."""
    wait_committed(bootstrap, group, end_offsets(bootstrap, *(s.topic for s in SOURCE_SYSTEMS.values())), timeout_s)


def test_two_workers_split_the_partitions_and_emit_what_one_handler_emits_once(
        kafka_bootstrap: str, tmp_path: Path, kit: KafkaKit) -> None:
    group, tag = f"tsunagu-ingest-scale-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    kit.skip_to_end(kafka_bootstrap, group)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    # Round 1: a backlog waits when the two start (their first batches arrive with their first assignment).
    starts = {"records": kit.end_offsets(kafka_bootstrap, "ingest.records.v1"),
              "dead": kit.end_offsets(kafka_bootstrap, "ingest.deadletter.v1")}
    sent = publish(kafka_bootstrap, tag, rounds=6)
    want_records, want_dead = expected(sent)
    assert len({p for t, p, *_ in sent if t == "source.childcare.v1"}) > 1
    with ExitStack() as stack:
        first = stack.enter_context(kit.ingest_worker(kafka_bootstrap, tmp_path / "a", group))
        second = ExitStack()
        stack.enter_context(second)
        second.enter_context(kit.ingest_worker(kafka_bootstrap, tmp_path / "b", group))
        got_records, got_dead = emitted(kit, kafka_bootstrap, starts, tag, sum(want_records.values()),
                                        sum(want_dead.values()))
        assert got_records == want_records, "the same records, byte for byte, each once"
        assert got_dead == want_dead
        split = wait_members(kafka_bootstrap, group, 2)
        sources = [ms & {(t.topic, p) for t in SOURCE_SYSTEMS.values() for p in range(3)} for ms in split]
        assert all(sources), f"both members own source partitions: {split}"
        assert not (split[0] & split[1]) and sum(len(s) for s in sources) == SOURCE_PARTITIONS

        # Round 1b: both serving.
        tag1 = uuid.uuid4().hex
        starts = {"records": kit.end_offsets(kafka_bootstrap, "ingest.records.v1"),
                  "dead": kit.end_offsets(kafka_bootstrap, "ingest.deadletter.v1")}
        sent = publish(kafka_bootstrap, tag1, rounds=6)
        want_records, want_dead = expected(sent)
        got_records, got_dead = emitted(kit, kafka_bootstrap, starts, tag1, sum(want_records.values()),
                                        sum(want_dead.values()))
        assert got_records == want_records and got_dead == want_dead
        committed_to_end(kafka_bootstrap, group)  # every source offset committed

        # Round 2: a backlog, and the second worker stops (SIGTERM) while both work through it; the first takes
        # every partition over (both are revoked in the rebalance: each commits its batch in hand first).
        tag2 = uuid.uuid4().hex
        starts = {"records": kit.end_offsets(kafka_bootstrap, "ingest.records.v1"),
                  "dead": kit.end_offsets(kafka_bootstrap, "ingest.deadletter.v1")}
        sent = publish(kafka_bootstrap, tag2, rounds=40)
        second.close()
        assert first.poll() is None
        want_records, want_dead = expected(sent)
        got_records, got_dead = emitted(kit, kafka_bootstrap, starts, tag2, sum(want_records.values()),
                                        sum(want_dead.values()))
        assert sum(got_records.values()) == sum(want_records.values()), "none lost, none twice"
        assert got_records == want_records and got_dead == want_dead
        committed_to_end(kafka_bootstrap, group)
        assert wait_members(kafka_bootstrap, group, 1)[0] >= {(t.topic, p) for t in SOURCE_SYSTEMS.values()
                                                              for p in range(3)}
