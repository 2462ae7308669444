"""Ingest's validate + normalise throughput on one core (the pipeline the Faust agent runs, no broker).

    .venv/bin/python benchmarks/ingest_pipeline.py [--events 100000]

Events: every source event type in turn, each with its own id, 宛名番号, name and date spelling, so
the date cache and kana folding do real work. Target (issue 4): ≥ 20,000 events/s per process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time

from prometheus_client import CollectorRegistry

from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, SourceMessage, process

SURNAMES = ["髙橋", "山﨑", "渡邊", "𠮷田", "福岡", "博多", "齋藤", "中村", "小林", "加藤"]
KANA = ["ﾀｶﾊｼ", "ヤマザキ", "わたなべ", "ヨシダ", "フクオカ", "ﾊｶﾀ", "サイトウ", "ナカムラ", "コバヤシ", "カトウ"]
DATES = ["令和{y}年{m}月{d}日", "R{y}.{m}.{d}", "2025-{m:02d}-{d:02d}", "R{y}/{m}/{d}"]


def make_events(n: int, seed: int = 7) -> list[SourceMessage]:
    rng = random.Random(seed)
    types = sorted(PAYLOADS)
    messages = []
    for i in range(n):
        event_type = types[i % len(types)]
        changes = {}
        data = PAYLOADS[event_type]
        for name in data:
            if name.endswith("atena_no") and data[name]:
                changes[name] = str(100_000_000_000 + rng.randrange(2_000_000))
            elif name == "name_kanji":
                changes[name] = f"{rng.choice(SURNAMES)} 花子"
            elif name == "name_kana":
                changes[name] = f"{rng.choice(KANA)} ﾊﾅｺ"
            elif name.endswith("_date") and name != "birth_date":
                changes[name] = rng.choice(DATES).format(y=rng.randint(2, 7), m=rng.randint(1, 12),
                                                         d=rng.randint(1, 28))
        event = example_event(event_type, event_id=f"bench-{i}", **changes)
        messages.append(SourceMessage(topic_of(event_type), i % 3, i, b"k",
                                      json.dumps(event, ensure_ascii=False).encode()))
    return messages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    messages = make_events(args.events)
    dedup, metrics = MemoryDedupStore(), IngestMetrics(CollectorRegistry())
    process(messages[0], dedup=MemoryDedupStore(), metrics=metrics, max_event_bytes=1 << 20)  # warm imports
    started, cpu_started = time.perf_counter(), time.process_time()
    accepted = sum(isinstance(process(m, dedup=dedup, metrics=metrics, max_event_bytes=1 << 20), Accepted)
                   for m in messages)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # CPU seconds are what one core spends; wall time also counts other processes sharing the machine.
    print(f"ingest pipeline: {len(messages)} events ({accepted} accepted)")
    print(f"  per CPU-second (one core): {len(messages) / cpu:,.0f} events/s "
          f"({1e6 * cpu / len(messages):.1f} µs/event)")
    print(f"  wall clock: {len(messages) / wall:,.0f} events/s ({wall:.2f} s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
