"""Consumer lag and topic offsets as Prometheus metrics, read from the broker at each scrape.

    .venv/bin/python deploy/lag_exporter.py --bootstrap 127.0.0.1:9092 --port 9105

It joins no consumer group and reads no message: an admin client lists the groups, their committed offsets
(OffsetFetch) and each partition's end offset and newest record timestamp (ListOffsets LATEST and
MAX_TIMESTAMP). So it can run beside the services without ever taking part in a rebalance.

Metrics (labels: group and topic names only, a small fixed set; never a key or a value):
  tsunagu_kafka_consumer_lag_messages{group,topic}        end offset − committed offset, summed over partitions
  tsunagu_kafka_topic_messages_total{topic}               end offsets summed (messages ever written)
  tsunagu_kafka_topic_last_message_timestamp_seconds{topic} newest record timestamp, for source freshness
  tsunagu_kafka_exporter_up                                1 when the last collection reached the broker
  tsunagu_kafka_exporter_collect_duration_seconds          time the last collection took
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("tsunagu.lag_exporter")


@dataclass
class Snapshot:
    """What one collection read from the broker, already summed per group/topic and topic."""

    lag: dict[tuple[str, str], int] = field(default_factory=dict)
    end_offsets: dict[str, int] = field(default_factory=dict)
    last_timestamp: dict[str, float] = field(default_factory=dict)


def summarise(committed: dict[str, dict[tuple[str, int], int]], ends: dict[tuple[str, int], int],
              newest: dict[tuple[str, int], int]) -> Snapshot:
    """Pure: committed offsets by group ({(topic, partition): offset}), end offsets and newest timestamps (ms)
    per partition → the per group/topic and per topic sums. A partition a group never committed counts as no
    lag (the group may not read it); a committed offset beyond the end (a recreated topic) counts as 0."""
    snap = Snapshot()
    for (topic, _partition), end in ends.items():
        snap.end_offsets[topic] = snap.end_offsets.get(topic, 0) + max(0, end)
    for (topic, _partition), ts in newest.items():
        if ts is not None and ts >= 0:
            snap.last_timestamp[topic] = max(snap.last_timestamp.get(topic, 0.0), ts / 1000.0)
    for group, offsets in committed.items():
        for tp, offset in offsets.items():
            if offset < 0 or tp not in ends:
                continue
            key = (group, tp[0])
            snap.lag[key] = snap.lag.get(key, 0) + max(0, ends[tp] - offset)
    return snap


class BrokerReader:
    """The broker calls, through kafka-python's admin client (no consumer, no group membership)."""

    def __init__(self, bootstrap: str, group_prefixes: tuple[str, ...] = (), timeout_ms: int = 5000) -> None:
        self.bootstrap, self.group_prefixes, self.timeout_ms = bootstrap, group_prefixes, timeout_ms
        self._admin: Any = None

    def _client(self) -> Any:
        if self._admin is None:
            from kafka import KafkaAdminClient

            from contracts.kafka_security import options_from_env

            self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="tsunagu-lag-exporter",
                                           request_timeout_ms=self.timeout_ms,
                                           **options_from_env("TSUNAGU_LAG_EXPORTER_"))
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def read(self) -> Snapshot:
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        admin = self._client()
        try:
            topics = [t for t in admin.describe_topics() if not t.get("is_internal")]
            partitions = [TopicPartition(t["name"], p["partition_index"]) for t in topics
                          for p in t.get("partitions", [])]
            latest = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in partitions})
            newest = admin.list_partition_offsets({tp: OffsetSpec.MAX_TIMESTAMP for tp in partitions})
            groups = sorted(g["group_id"] for g in admin.list_groups()
                            if not self.group_prefixes or g["group_id"].startswith(self.group_prefixes))
            committed: dict[str, dict[tuple[str, int], int]] = {}
            for group in groups:
                offsets = admin.list_group_offsets({group: None}).get(group, {})
                committed[group] = {(tp.topic, tp.partition): om.offset for tp, om in offsets.items()}
        except Exception:
            self.close()  # a fresh connection next time (the broker may have restarted)
            raise
        return summarise(committed, {(tp.topic, tp.partition): o.offset for tp, o in latest.items()},
                         {(tp.topic, tp.partition): o.timestamp for tp, o in newest.items()})


class LagCollector(Collector):
    """Reads the broker at each scrape; a failed read exports only ``up 0`` (no stale lag)."""

    def __init__(self, reader: Any) -> None:
        self.reader = reader

    def describe(self) -> Iterable[Metric]:
        return []  # collected live: do not read the broker when registering

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        up = GaugeMetricFamily("tsunagu_kafka_exporter_up", "1 when the last collection reached the broker")
        try:
            snap = self.reader.read()
        except Exception as exc:
            log.warning("lag exporter: broker not readable (%s)", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            yield self._duration(started)
            return
        up.add_metric([], 1)
        yield up
        yield self._duration(started)
        lag = GaugeMetricFamily("tsunagu_kafka_consumer_lag_messages",
                                "Messages not yet committed by a consumer group, by group and topic",
                                labels=["group", "topic"])
        for (group, topic), value in sorted(snap.lag.items()):
            lag.add_metric([group, topic], value)
        yield lag
        written = CounterMetricFamily("tsunagu_kafka_topic_messages", "Messages written to a topic (end offsets "
                                      "summed over partitions)", labels=["topic"])
        for topic, value in sorted(snap.end_offsets.items()):
            written.add_metric([topic], value)
        yield written
        newest = GaugeMetricFamily("tsunagu_kafka_topic_last_message_timestamp_seconds",
                                   "Timestamp of the newest record on a topic (Unix time)", labels=["topic"])
        for topic, value in sorted(snap.last_timestamp.items()):
            newest.add_metric([topic], value)
        yield newest

    @staticmethod
    def _duration(started: float) -> Metric:
        metric = GaugeMetricFamily("tsunagu_kafka_exporter_collect_duration_seconds",
                                   "Time the last collection from the broker took")
        metric.add_metric([], time.perf_counter() - started)
        return metric


def main(argv: list[str] | None = None) -> None:
    from prometheus_client import REGISTRY, start_http_server

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=f"127.0.0.1:{os.environ.get('KAFKA_PORT', '9092')}")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9105)
    parser.add_argument("--group-prefix", action="append", default=[],
                        help="only groups whose id starts with this (repeatable; default: every group)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    REGISTRY.register(LagCollector(BrokerReader(args.bootstrap, tuple(args.group_prefix))))
    start_http_server(args.port, addr=args.host)
    log.info("lag exporter: %s → http://%s:%d/metrics", args.bootstrap, args.host, args.port)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
