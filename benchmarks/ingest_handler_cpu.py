"""The ingest worker's batch step alone, in process, over the simulator's city: CPU per source event and a digest of
everything it sends (issue 19).

    .venv/bin/python -m benchmarks.ingest_handler_cpu [--scale 0.02] [--days 120] [--repeat 3] [--profile]

The city (``benchmarks.stage_cpu.city``: var/city-<scale>-<days>-<seed>.jsonl) as the consumer's records, with a
few hazards mixed in deterministically so the dead-letter paths run too (every 97th event sent again, every 193rd
with its id re-used for other content, every 389th not JSON, every 577th with an impossible date, every 769th of an
unknown type), through ``IngestBatch`` (the worker's step: records → ``IngestHandler.handle_batch`` → record
batches) in batches of 500, over the SQLite dedup store in a temporary directory and a producer that only
collects; the city itself is kept out of the collector's way (``gc.freeze``). The name, address and date caches
are cleared before each repeat (the worker starts cold). Printed: the CPU (``time.process_time``) of the best of
``--repeat`` runs per source event, and a digest of every record and dead letter sent (topic, key, value, headers,
in order) — the same digest before and after a change is the proof that the output did not move by a byte.
``--profile`` writes a cProfile (CPU clock) of one more run to var/ingest-handler.prof.
``benchmarks.ingest_worker_profile`` measures the same over a real broker.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import pstats
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry

from benchmarks.stage_cpu import ROOT, city
from services.ingest.adapters.clock import SystemClock
from services.ingest.adapters.dedup import SqliteDedupStore
from services.ingest.domain import dates, normalise
from services.ingest.entrypoints.worker import IngestBatch
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler, SourceMessage

BATCH = 500


@dataclass
class Record:  # what aiokafka's consumer hands over (ConsumerRecord), the fields the worker reads
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp: int
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def records(messages: list[SourceMessage]) -> list[Record]:
    out = []
    for i, m in enumerate(messages):
        value = m.value or b""
        if i % 389 == 0:
            value = value[:-7]  # not JSON
        elif i % 577 == 0:
            event = orjson.loads(value)
            dated = next((k for k in event["data"] if k.endswith("_date")), None)
            if dated:
                event["data"][dated] = "2025-02-30"
            value = orjson.dumps(event)
        elif i % 769 == 0:
            event = orjson.loads(value)
            event["type"] += ".unknown"
            value = orjson.dumps(event)
        elif i % 193 == 0 and i > 0:
            event = orjson.loads(value)
            event["id"] = orjson.loads(messages[i - 1].value or b"")["id"]  # re-used for other content
            value = orjson.dumps(event)
        timestamp = round((m.timestamp or 0) * 1000)
        out.append(Record(m.topic, m.partition, m.offset, m.key, value, timestamp))
        if i % 97 == 0:  # sent again (a retry): dropped
            out.append(Record(m.topic, m.partition, m.offset, m.key, value, timestamp))
    return out


class CollectingProducer:
    """Takes ``ProduceBatch``'s record batches and sends; every delivery at once acknowledged."""

    def __init__(self) -> None:
        self.digest = hashlib.blake2b(digest_size=8)
        self.sent = 0

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(48 if topic == "ingest.records.v1" else 3))

    def create_batch(self) -> _Builder:
        return _Builder(self)

    async def send_batch(self, batch: _Builder, topic: str, *, partition: int) -> asyncio.Future[Any]:
        for key, value, headers in batch.records:
            self._take(topic, key, value, headers)
        return self._done()

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[Any]:
        self._take(topic, key, value, headers or [])
        return self._done()

    def _take(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> None:
        self.sent += 1
        self.digest.update(repr((topic, key, value, list(headers))).encode())

    @staticmethod
    def _done() -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


class _Builder:
    def __init__(self, producer: CollectingProducer) -> None:
        self.records: list[tuple[bytes | None, bytes | None, Any]] = []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None, headers: Any) -> object | None:
        if len(self.records) >= 200:
            return None  # full, as aiokafka's builder says it
        self.records.append((key, value, headers))
        return object()

    def close(self) -> None:
        pass


def run(batches: list[list[Record]], directory: Path) -> tuple[float, CollectingProducer]:
    for cache in (normalise.kana_key, normalise.address_key, dates._parse_cached):
        cache.cache_clear()
    dedup = SqliteDedupStore(directory / f"dedup-{time.monotonic_ns()}.sqlite")
    handler = IngestHandler(dedup=dedup, metrics=IngestMetrics(CollectorRegistry()), max_event_bytes=1 << 20,
                            clock=SystemClock())
    producer = CollectingProducer()
    step = IngestBatch(handler, producer)

    async def all_batches() -> None:
        for batch in batches:
            await step(batch)

    started = time.process_time()
    asyncio.run(all_batches())
    cpu = time.process_time() - started
    dedup.close()
    return cpu, producer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    source = records(city(args.scale, args.days, args.seed))
    batches = [source[i:i + BATCH] for i in range(0, len(source), BATCH)]
    gc.collect()
    gc.freeze()  # the city is not in the worker's heap: its full collections must not scan it
    with tempfile.TemporaryDirectory() as tmp:
        runs = [run(batches, Path(tmp)) for _ in range(args.repeat)]
        if args.profile:
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            run(batches, Path(tmp))
            profiler.disable()
            path = ROOT / "var" / "ingest-handler.prof"
            profiler.dump_stats(path)
    digests = {producer.digest.hexdigest() for _, producer in runs}
    assert len(digests) == 1, f"runs of the same code sent different output: {digests}"
    best = min(cpu for cpu, _ in runs)
    print(f"scale {args.scale}: {len(source):,} source records; CPU per run {', '.join(f'{c:.2f}' for c, _ in runs)} "
          f"s; best {1e3 * best / len(source):.4f} ms per source record")
    print(f"output: {runs[0][1].sent:,} records and dead letters sent, digest {digests.pop()}")
    if args.profile:
        pstats.Stats(str(path)).sort_stats("tottime").print_stats(40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
