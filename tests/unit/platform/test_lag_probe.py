"""benchmarks/pipeline_chaos.py's ``LagProbe``: each group's lag from one admin client and one consumer kept open,
every lookup bounded by a request timeout (the drains of pipeline_e2e, pipeline_chaos and pipeline_latency wait on
it). The clients here are fakes; the runs themselves use the real broker (docs/scaling.md)."""

from __future__ import annotations

from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.structs import OffsetAndMetadata

from benchmarks import pipeline_chaos
from benchmarks.pipeline_chaos import PROBE_TIMEOUT_MS, SERVICES, LagProbe, inputs

pytestmark = pytest.mark.unit


class FakeAdmin:
    def __init__(self, topics: dict[str, int], committed: dict[str, dict[TopicPartition, int]],
                 missing: set[str] | None = None) -> None:
        self.topics, self.committed, self.missing = topics, committed, missing or set()
        self.described: list[list[str]] = []
        self.closed = False

    def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
        self.described.append(list(topics))
        return [{"name": t, "error_code": 3 if t in self.missing else 0,
                 "partitions": [] if t in self.missing else [{"partition_index": p} for p in
                                                             reversed(range(self.topics[t]))]} for t in topics]

    def list_group_offsets(self, groups: list[str]) -> dict[str, dict[TopicPartition, OffsetAndMetadata]]:
        return {g: {tp: OffsetAndMetadata(o, "", -1) for tp, o in self.committed.get(g, {}).items()} for g in groups}

    def close(self) -> None:
        self.closed = True


class FakeConsumer:
    def __init__(self, ends: dict[TopicPartition, int], fail: bool = False) -> None:
        self.ends, self.fail = ends, fail
        self.timeouts: list[int | None] = []
        self.closed = False

    def topics(self) -> set[str]:  # the consumer's own lookup waits without a deadline: never to be called
        raise AssertionError("consumer.topics() has no deadline")

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int | None = None) -> dict[TopicPartition, int]:
        self.timeouts.append(timeout_ms)
        if self.fail:
            raise KafkaTimeoutError("no answer")
        return {tp: self.ends[tp] for tp in partitions}

    def close(self) -> None:
        self.closed = True


def _city() -> tuple[dict[str, int], dict[TopicPartition, int]]:
    topics = {t: 3 for service in SERVICES for t in inputs(service)}
    ends = {TopicPartition(t, p): 100 for t, n in topics.items() for p in range(n)}
    return topics, ends


def _probe(admin: FakeAdmin, consumer: FakeConsumer) -> LagProbe:
    probe = LagProbe("127.0.0.1:1")
    probe._clients = (admin, consumer)  # type: ignore[assignment]
    return probe


def test_lag_per_group_from_end_offsets_and_committed_offsets_partitions_looked_up_once() -> None:
    topics, ends = _city()
    records = "ingest.records.v1"
    committed = {"chaos-linkage": {TopicPartition(records, 0): 100, TopicPartition(records, 1): 40},
                 "chaos-casework": {tp: 100 for tp in ends if tp.topic in inputs("casework")}}
    admin, consumer = FakeAdmin(topics, committed), FakeConsumer(ends)
    probe = _probe(admin, consumer)
    lags = probe()
    assert lags["linkage"] == 0 + 60 + 100  # partition 2 has no commit: its whole input
    assert lags["casework"] == 0
    assert lags["scoring"] == 300
    assert lags["ingest"] == 300 * len(inputs("ingest"))
    assert probe() == lags
    assert len(admin.described) == 1  # the partitions once, not per poll
    assert consumer.timeouts == [PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS]


def test_a_topic_without_metadata_yet_fails_the_poll_and_the_next_poll_looks_again(monkeypatch: pytest.MonkeyPatch) \
        -> None:
    topics, ends = _city()
    admin, consumer = FakeAdmin(topics, {}, missing={"linkage.facts.v1"}), FakeConsumer(ends)
    probe = _probe(admin, consumer)
    with pytest.raises(KafkaError, match="scoring"):
        probe()
    assert admin.closed and consumer.closed and probe._clients is None  # reopened by the next poll
    fresh = FakeAdmin(topics, {}), FakeConsumer(ends)
    opened: list[dict[str, Any]] = []

    def opening(client: Any) -> Any:
        def open_(**options: Any) -> Any:
            opened.append(options)
            return client
        return open_

    monkeypatch.setattr(pipeline_chaos, "KafkaAdminClient", opening(fresh[0]))
    monkeypatch.setattr(pipeline_chaos, "KafkaConsumer", opening(fresh[1]))
    assert probe()["scoring"] == 300
    assert [o["request_timeout_ms"] for o in opened] == [PROBE_TIMEOUT_MS, PROBE_TIMEOUT_MS]  # both clients bounded


def test_a_broker_that_does_not_answer_fails_the_poll_within_the_request_timeout() -> None:
    topics, ends = _city()
    admin, consumer = FakeAdmin(topics, {}), FakeConsumer(ends, fail=True)
    probe = _probe(admin, consumer)
    with pytest.raises(KafkaError):
        probe()
    assert consumer.timeouts == [PROBE_TIMEOUT_MS]
    assert probe._clients is None
