"""What the worker profiles share (issue 19): a broker of their own, a worker run in this process until a watcher
thread says it is done, and the output read back from the broker and digested.

Used by ``benchmarks.ingest_worker_profile``, ``benchmarks.scoring_worker_profile`` and
``benchmarks.casework_worker_profile``; each keeps what it measures and prints.
"""

from __future__ import annotations

import asyncio
import cProfile
import hashlib
import os
import pstats
import subprocess
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from benchmarks.pipeline_chaos import PY, ROOT, Run, committed_total

READ_TIMEOUT_S = 120  # reading an output topic back
T = TypeVar("T")


def workdir(name: str) -> Path:
    """A fresh directory var/<name>-<time> for the run's broker data and files."""
    path = ROOT / "var" / f"{name}-{int(time.time())}"
    path.mkdir(parents=True)
    return path


@contextmanager
def broker(name: str, port: int, directory: Path, today: str) -> Iterator[Run]:
    """A broker of its own on ``port`` (deploy/kafka/kafka.sh, data in ``directory``) with the catalogue's topics;
    stopped on the way out."""
    run = Run(name, port, directory, today)
    run.kafka("start")
    try:
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        yield run
    finally:
        run.kafka("stop")


def use_settings(run: Run, service: str) -> None:
    """The service's settings for this run (its broker, group, data directory) into this process's environment."""
    os.environ.update({k: v for k, v in run.env(service).items() if k.startswith("TSUNAGU_")})


class Drain:
    """The watcher of a drain: polls the ``service``'s group (``chaos-<service>``, as ``Run`` names it) until its
    committed offsets add up to ``total`` or ``timeout_s`` has passed since the watch began; ``check`` says which."""

    def __init__(self, bootstrap: str, service: str, total: int, timeout_s: float, what: str) -> None:
        self.bootstrap, self.service, self.total, self.timeout_s, self.what = bootstrap, service, total, timeout_s, what
        self.drained = False

    def __call__(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while committed_total(self.bootstrap, self.service) < self.total:
            if time.monotonic() > deadline:  # stops the worker; ``drained`` stays False and ``check`` says so
                return
            time.sleep(0.5)
        self.drained = True

    def check(self) -> None:
        if not self.drained:
            raise SystemExit(f"the worker stopped before its group had committed every {self.what} (waited at most "
                             f"{self.timeout_s:.0f} s for {self.total:,})")


@dataclass(frozen=True)
class WorkerRun:
    started_cpu: float  # ``clock()`` just before the watcher started
    cpu: float  # ``clock()`` spent from then until the worker returned
    wall: float
    profiler: cProfile.Profile | None


def run_worker(worker: Callable[[asyncio.Event], Coroutine[Any, Any, None]], watch: Callable[[], object], *,
               profile: bool, clock: Callable[[], float] = time.thread_time) -> WorkerRun:
    """Runs ``worker(stop)`` on a new event loop in this thread while ``watch`` runs in another (its CPU not counted
    by ``time.thread_time``); ``stop`` is set once ``watch`` returns (or fails). With ``profile``, a cProfile of
    this thread on a CPU clock around the worker."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def watcher() -> None:
        try:
            watch()
        finally:
            loop.call_soon_threadsafe(stop.set)

    profiler = cProfile.Profile(time.thread_time) if profile else None
    started_cpu, started = clock(), time.monotonic()
    threading.Thread(target=watcher, daemon=True).start()
    if profiler is not None:
        profiler.enable()
    try:
        loop.run_until_complete(worker(stop))
    finally:
        if profiler is not None:
            profiler.disable()
        loop.close()
    return WorkerRun(started_cpu, clock() - started_cpu, time.monotonic() - started, profiler)


@contextmanager
def reader(bootstrap: str) -> Iterator[KafkaConsumer]:
    """A consumer outside any group, for reading topics back with ``read_topic``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    try:
        consumer.topics()
        yield consumer
    finally:
        consumer.close()


def read_topic(consumer: KafkaConsumer, topic: str, row: Callable[[ConsumerRecord], T],
               timeout_s: float = READ_TIMEOUT_S) -> dict[int, list[T]]:
    """Every record ``topic`` holds now, as ``row(record)``, per partition in offset order; stops with what it read
    of how many once ``timeout_s`` has passed."""
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = consumer.end_offsets(parts)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    rows: dict[int, list[T]] = {p.partition: [] for p in parts}
    deadline = time.monotonic() + timeout_s
    while (got := sum(map(len, rows.values()))) < sum(ends.values()):
        if time.monotonic() > deadline:
            raise SystemExit(f"{topic}: read {got:,} of {sum(ends.values()):,} records in {timeout_s:.0f} s")
        for tp, records in consumer.poll(timeout_ms=2000).items():
            rows[tp.partition] += [row(r) for r in records]
    return rows


def digest(value: object) -> str:
    """16 hex digits of the SHA-256 of ``repr(value)``."""
    return hashlib.sha256(repr(value).encode()).hexdigest()[:16]


def print_profile(profiler: cProfile.Profile | None, name: str) -> None:
    """With a profiler: its stats written to var/<name>.prof and their top printed (own time, then cumulative)."""
    if profiler is None:
        return
    path = ROOT / "var" / f"{name}.prof"
    profiler.dump_stats(path)
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
