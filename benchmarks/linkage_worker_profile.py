"""The linkage worker's CPU per source event with its state in SQLite, and where it goes (issue 19).

    .venv/bin/python -m benchmarks.linkage_worker_profile [--scale 0.05] [--days 120] [--seed 7] [--no-split]
        [--profile] [--fact-cache N] [--by-type] [--keep-db DIR]

The simulator's city through ingest (written once by benchmarks/linkage_memory.py to
var/linkage-input-<scale>-<days>-<seed>.bin) handed to the worker's batch handler (``entrypoints.worker.LinkageBatch``:
records to their use case, state and outbox in one SQLite transaction, the outbox sent and cleared) **in this
process**, in batches of the worker's size, its state loaded from and attached to its store as the worker's is
(source facts, the dependency index and the processed ids read from SQLite on demand) — unlike
``benchmarks.stage_cpu``, whose linkage state is all in memory and so hides what SQLite costs. The producer is a
stand-in that takes each message as sent (no broker: what aiokafka costs is not linkage's code).

Printed: the thread's CPU seconds in the handler (``time.thread_time``) per source event (the city's messages, as
pipeline_e2e counts them) and per record; the split by part (``benchmarks/cpu_split.py``: wrappers at the
pure-Python boundaries — compiled modules are invisible to cProfile) into decoding the records, matching and
attribution (``handle_record``, compiled), encoding the messages, SQLite reads (on-demand rows and index lookups)
and writes (the batch's transaction; the outbox cleared), and the rest (the worker's loop, metrics); and the digest
of every message published (``benchmarks/linkage_memory.py``'s formula, taken in the order the worker hands the
messages over — record batches per partition since the ninth pass, so no longer linkage_memory's order). The
digest's own CPU is not counted. WAL checkpoints run on a thread of their own, as in the worker
(``SQLITE_CHECKPOINT_S``); that thread's CPU is printed beside the handler's, not in it (until 1 Dec 2026 they ran in
``COMMIT`` here, which made the batch transaction look larger than the worker's). ``--purge DAY`` then runs the
retention purge (every purgeable kind kept a year) and prints its CPU, its steps and the longest of them. Also
printed: the bytes the process wrote to the disk while the batches ran (``write_bytes`` of /proc/self/io: the WAL's
frames and the checkpoints' copies), per record.
``--profile`` adds a cProfile (CPU clock) written to var/linkage-worker.prof. ``--keep-db DIR`` writes the database
in DIR and keeps it (to see which tables and indexes its pages are, with SQLite's dbstat).
Measure before and after back to back and repeat: other load on the machine moves CPU seconds far less than
wall time, yet it moves them.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import os
import pstats
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from benchmarks.cpu_split import CpuSplit, MessageDigest
from benchmarks.linkage_memory import batches, input_path
from benchmarks.pipeline_e2e import written_bytes
from contracts.topics import CATALOGUE
from services.linkage import native
from services.linkage.adapters.clock import SystemClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.bootstrap import match_settings, tune_collector
from services.linkage.config import LinkageSettings
from services.linkage.domain.state import LinkageState
from services.linkage.entrypoints.worker import LinkageBatch
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer import handlers
from services.linkage.service_layer.handlers import LinkageService

ROOT = Path(__file__).resolve().parents[1]
READS = ("row", "rows", "keys", "count", "holders", "all_holders", "tokens", "token_count", "rows_for")


class Builder:
    """A record batch as the producer's ``create_batch`` gives one: here only the records appended."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, Sequence[tuple[str, bytes]]]] = []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None,
               headers: Sequence[tuple[str, bytes]]) -> object:
        self.records.append((key, value, headers))
        return self

    def close(self) -> None:
        self.closed = True


class Producer:
    """Stands for aiokafka's producer: each message digested as handed over (record batches per partition, as the
    worker hands them: the catalogue's partition counts), acknowledged at once."""

    def __init__(self, split: CpuSplit) -> None:
        self.digest = MessageDigest()
        self.add = split.timed(self.digest.add, "benchmark: digest (not counted)")
        self.partitions = {spec.name: spec.partitions for spec in CATALOGUE}

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions.get(topic, 6)))

    def create_batch(self) -> Builder:
        return Builder()

    async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        for key, value, headers in batch.records:
            self.add(topic, key, value, {k: v.decode() for k, v in headers})
        return self._done()

    async def send(self, topic: str, value: bytes | None, *, key: bytes | None,
                   headers: Sequence[tuple[str, bytes]]) -> asyncio.Future[None]:
        self.add(topic, key, value, {k: v.decode() for k, v in headers})
        return self._done()

    @staticmethod
    def _done() -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def instrument(split: CpuSplit, store: Any) -> None:
    """Wraps the boundaries of the parts (pure Python: the service, its store, the messages module)."""
    for name in READS:
        if hasattr(store, name):
            split.wrap(store, name, "SQLite reads (rows, index)")
    split.wrap(store, "commit", "SQLite writes (batch transaction)")
    split.wrap(store, "acknowledge", "SQLite writes (outbox cleared)")
    split.wrap(handlers, "handle_record", "matching and attribution")
    split.wrap(handlers, "admit", "matching and attribution")
    split.wrap(handlers.LinkageService, "_encode", "messages: encode")
    if hasattr(handlers, "decode_record"):  # a named decode step
        split.wrap(handlers, "decode_record", "messages: decode")
    else:  # Envelope[RecordV1].model_validate_json(...) inline in handle_records
        split.replace(handlers, "Envelope", _TimedGeneric(handlers.Envelope, split, "messages: decode"))


class _TimedGeneric:
    """``Generic[T].model_validate_json`` timed (the decode inline in the code before a named step)."""

    def __init__(self, generic: Any, split: CpuSplit, part: str) -> None:
        self.generic, self.split, self.part = generic, split, part
        self.models: dict[Any, Any] = {}

    def __getitem__(self, item: Any) -> Any:
        model = self.models.get(item)
        if model is None:
            validate = self.split.timed(self.generic[item].model_validate_json, self.part)
            model = self.models[item] = type("Timed", (), {"model_validate_json": staticmethod(validate)})
        return model


class ByEventType:
    """The handler thread's CPU in each record's own handling (``handle_record``: matching, attribution, the rows it
    reads), per source event type — which kinds of record the linkage thread's time goes to. The batch's decode,
    encode and commit are not in it (they are per batch)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.records: dict[str, int] = {}
        self._original = handlers.handle_record

    def install(self) -> None:
        original, seconds, records = self._original, self.seconds, self.records

        def timed(record: Any, change: Any, settings: Any) -> Any:
            started = time.thread_time()
            try:
                return original(record, change, settings)
            finally:
                kind = record.event_type
                seconds[kind] = seconds.get(kind, 0.0) + time.thread_time() - started
                records[kind] = records.get(kind, 0) + 1

        handlers.handle_record = timed  # type: ignore[assignment]

    def restore(self) -> None:
        handlers.handle_record = self._original

    def table(self, cpu: float, top: int = 15) -> list[str]:
        total = sum(self.seconds.values())
        lines = [f"records' own handling: {total:.2f} CPU-s = {100 * total / cpu:.1f} % of the handler's CPU; by "
                 f"source event type (records, ms per record, share of the records' handling):"]
        for kind, seconds in sorted(self.seconds.items(), key=lambda item: -item[1])[:top]:
            n = self.records[kind]
            lines.append(f"  {kind:<52} {n:>9,} {1e3 * seconds / n:8.4f} ms {100 * seconds / total:5.1f} %")
        return lines


def round_robin_batches(items: Iterator[list[Any]], size: int) -> Iterator[list[Any]]:
    """The records again, one of each source system in turn (each system's own order kept), in batches of
    ``size``; offsets renumbered in the new order."""
    import orjson

    streams: dict[str, list[Any]] = {}
    for batch in items:
        for incoming in batch:
            streams.setdefault(orjson.loads(incoming.value)["data"]["system"], []).append(incoming)
    cursors = [iter(stream) for stream in streams.values()]
    ordered: list[Any] = []
    while cursors:
        for cursor in list(cursors):
            item = next(cursor, None)
            if item is None:
                cursors.remove(cursor)
            else:
                ordered.append(type(item)(item.value, item.key, item.topic, item.partition, len(ordered)))
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]


def drive(batch_handler: Any, items: Iterator[list[Any]]) -> tuple[int, int, float]:
    """Every batch through the handler on an event loop, as the worker's reader drives it: a batch's finish (its
    messages sent once written, the outbox cleared) runs while the next batch is applied; (batches, records, the
    handler's thread's CPU seconds, reading the input included)."""

    async def run() -> tuple[int, int, float]:
        n = records = 0
        cpu = 0.0
        outstanding: asyncio.Future[None] | None = None
        for batch in items:
            started = time.thread_time()
            finish = await batch_handler.apply(batch)
            if outstanding is not None:
                await outstanding
            outstanding = asyncio.ensure_future(finish)
            cpu += time.thread_time() - started
            n += 1
            records += len(batch)
        started = time.thread_time()
        if outstanding is not None:
            await outstanding
        cpu += time.thread_time() - started
        return n, records, cpu

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(run())
    finally:
        loop.close()


def checkpoint_cpu(store: SqliteStore) -> str:
    """The WAL checkpoint thread's CPU seconds and rounds so far (its own thread: not in the handler's CPU), how often
    the WAL started over and the most pages a round found in it."""
    checkpointer = store.checkpointer
    if checkpointer is None:
        return "none (checkpoints in COMMIT)"
    thread = checkpointer._thread.ident  # still running: its CPU clock is readable until ``close``
    assert thread is not None
    cpu = time.clock_gettime(time.pthread_getcpuclockid(thread))
    return (f"{cpu:.2f} CPU-s in {checkpointer.rounds:,} rounds; the WAL started over {checkpointer.restarts:,} "
            f"times, at most {checkpointer.most_pages:,} pages; page cache {store.cache_kib // 1024} MiB")


def writer_cpu(store: SqliteStore) -> str:
    """The writer thread's CPU seconds (``write_behind``: the batches' transactions; not in the handler's CPU)."""
    writer = store._writer
    if writer is None:
        return "none (in the handler's thread)"
    cpu = sum(time.clock_gettime(time.pthread_getcpuclockid(thread.ident))
              for thread in writer._threads if thread.ident is not None)
    return f"{cpu:.2f} CPU-s"


def measure_purge(service: LinkageService, today: str) -> str:
    """The retention purge once the city is in, every purgeable kind with a period of a year on ``today``: its CPU
    and, where it runs in steps (``purge_steps``), how many and the longest step, which holds the batches up."""
    from datetime import date

    from services.linkage.domain.retention import PURGEABLE_KINDS

    periods, day = dict.fromkeys(sorted(PURGEABLE_KINDS), 1), date.fromisoformat(today)
    before = len(service.state.source_facts)
    steps: list[float] = []
    if hasattr(service, "purge_steps"):
        run = service.purge_steps(periods, day)
        while True:
            started = time.thread_time()
            if next(run, None) is None:
                break
            steps.append(time.thread_time() - started)
    else:  # one transaction, the whole state read at once
        started = time.thread_time()
        service.purge_expired(periods, day)
        steps.append(time.thread_time() - started)
    after = len(service.state.source_facts)
    return (f"retention purge on {today} (every purgeable kind, 1 year): {before - after:,} of {before:,} source "
            f"facts removed in {sum(steps):.2f} CPU-s, {len(steps):,} step(s), the longest {1e3 * max(steps):.0f} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linkage_worker_profile", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-split", action="store_true", help="no wrappers: the total alone")
    parser.add_argument("--profile", action="store_true", help="a cProfile too (slower; var/linkage-worker.prof)")
    parser.add_argument("--purge", metavar="DAY", help="then the retention purge on this day (e.g. 2030-01-01)")
    parser.add_argument("--fact-cache", type=int, help="source facts kept between batches (default: the setting's)")
    parser.add_argument("--no-write-behind", action="store_true",
                        help="each batch's transaction in the handler's thread (before SQLITE_WRITE_BEHIND)")
    parser.add_argument("--order", choices=("file", "round-robin"), default="file",
                        help="file: as ingest wrote them (by date); round-robin: one record of each source system in "
                             "turn, as the running pipeline delivers a published city (ingest reads its 16 topics in "
                             "turn, so the small ones are through first)")
    parser.add_argument("--by-type", action="store_true",
                        help="also the CPU of each record's own handling per source event type")
    parser.add_argument("--keep-db", metavar="DIR", type=Path,
                        help="write the database in DIR (emptied first) and keep it, to look into its pages")
    args = parser.parse_args(argv)
    path = input_path(args.scale, args.days, args.seed)
    city = ROOT / "var" / f"city-{args.scale}-{args.days}-{args.seed}.jsonl"
    with city.open("rb") as f:
        events = sum(1 for _ in f)

    settings = LinkageSettings()
    split = CpuSplit()
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep_db) if args.keep_db is not None else scratch
        if args.keep_db is not None:
            shutil.rmtree(args.keep_db, ignore_errors=True)
            args.keep_db.mkdir(parents=True)
        # WAL checkpoints on a thread of their own, as the worker has them (in ``COMMIT`` they would count in the
        # handler's CPU; the thread's CPU is printed beside it)
        store = SqliteStore(f"sqlite:///{tmp}/linkage.db", cache_kib=settings.sqlite_cache_mib * 1024,
                            checkpoint_interval_s=settings.sqlite_checkpoint_s,
                            cache_max_kib=settings.sqlite_cache_max_mib * 1024,
                            write_behind=settings.sqlite_write_behind and not args.no_write_behind)
        state = LinkageState()
        state.source_facts.cache_size = args.fact_cache if args.fact_cache is not None else settings.fact_cache
        store.load(state)  # as the worker starts: attached to its store
        gc.collect()
        gc.freeze()
        tune_collector()
        service = LinkageService(state, store, LinkageMetrics(CollectorRegistry()), match_settings(settings),
                                 settings.source_uri, clock=SystemClock())
        producer = Producer(split)
        handler = LinkageBatch(service, producer, records_topic=settings.records_topic,
                               decisions_topic=settings.decisions_topic)
        if not args.no_split:
            instrument(split, store)
        by_type = ByEventType() if args.by_type else None
        if by_type is not None:
            by_type.install()
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        load = os.getloadavg()[0]
        written = written_bytes(os.getpid())
        wall = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            items = batches(path, settings.batch_size)
            if args.order == "round-robin":
                items = round_robin_batches(items, settings.batch_size)
            n, records, cpu = drive(handler, items)
        finally:
            if profiler is not None:
                profiler.disable()
            split.restore()
            if by_type is not None:
                by_type.restore()
        wall = time.perf_counter() - wall
        written = written_bytes(os.getpid()) - written
        database_mib = Path(f"{tmp}/linkage.db").stat().st_size / 2**20
        purge = measure_purge(service, args.purge) if args.purge else None
        digest_part = "benchmark: digest (not counted)"
        cpu -= split.seconds.pop(digest_part, 0.0)
        split.calls.pop(digest_part, None)
        facts_read, processed_read = state.source_facts.reads, state.processed.reads
        checkpoints, writes = checkpoint_cpu(store), writer_cpu(store)
        store.close()
    active = native.active()
    compiled = f"{len(active)} of {len(native.COMPILED)} modules compiled" if active else "pure Python"
    print(f"scale {args.scale}: {events:,} source events, {records:,} records in {n:,} batches → "
          f"{producer.digest.count:,} messages; digest {producer.digest.hexdigest()}")
    print(f"linkage worker handler ({compiled}): {cpu:.2f} CPU-s = {1e3 * cpu / events:.4f} ms per source event, "
          f"{1e3 * cpu / records:.4f} ms per record (wall {wall:.1f} s, load avg at start {load:.1f}); "
          f"source facts read back {facts_read:,}, processed ids {processed_read:,}; WAL checkpoints on their own "
          f"thread {checkpoints}; the batches' transactions on a thread of their own {writes}")
    print(f"written to the disk by the process while it ran: {written / 2**20:,.0f} MiB = "
          f"{written / 1024 / records:.1f} KiB per record (the WAL's frames and the checkpoints' copies; the "
          f"database {database_mib:,.0f} MiB at the end)")
    if purge is not None:
        print(purge)
    if not args.no_split:
        print("split (ms per source event, share of the handler's CPU):")
        print("\n".join(split.table(cpu, events, "event", rest="worker loop, metrics, rest")))
    if by_type is not None:
        print("\n".join(by_type.table(cpu)))
    if profiler is not None:
        prof = ROOT / "var" / "linkage-worker.prof"
        profiler.dump_stats(prof)
        stats = pstats.Stats(str(prof))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
