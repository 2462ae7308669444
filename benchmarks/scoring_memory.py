"""What a child's state costs scoring in memory, by part, after a synthetic city's facts went through the handlers
(issue 19: all four services ≤ 2 GiB at scale 1.0).

    .venv/bin/python -m benchmarks.scoring_memory [--scale 0.05] [--days 120] [--seed 7] [--today 2025-08-01]
        [--hot N] [--gc-young 50000] [--profile var/scoring-memory.prof] [--changelog-out FILE]
        [--worker [--rate 2500]] [--malloc-stats]
    .venv/bin/python -m benchmarks.scoring_memory --restore-from FILE [--hot N]

The city's facts (the simulator's city through ingest's pipeline and linkage's service, as benchmarks/stage_cpu.py
runs them; kept in var/facts-<scale>-<days>-<seed>.jsonl for the next run) go through scoring's fact handler into
the worker's own store (adapters/changelog_store.py), in batches of the worker's size, each batch flushed as the
worker does (the changelog messages encoded, not sent). Printed: children held, the process's RSS before and after
(after a full collection), and the bytes per child of each part of what stays in memory — a deep size of the
objects reachable from each part, every object counted once (the first part to reach it owns it), strings, dicts,
lists, tuples, dates and slotted objects included — and the size of one child's changelog message. Cold children's
states are in the worker's spill file on local disk (adapters/changelog_store.py ``SpillFile``): its size is
printed apart, it is not in the RSS. The peak RSS (VmHWM) is printed too: it is what a deployment must provide.

``--worker``: the facts go through the worker's own batch handler instead (entrypoints/worker.py ``Scoring``, with a
producer that sends nothing), its clock duties run on a simulated clock of ``--rate`` facts per second: as in a drain,
every fact is a backlog's, its child held (``ClockDuties.caught_up``, ``source_times``) and evaluated when released —
the per-child structures the worker has beyond the store's. It prints a digest of every flags and changelog record
handed to the producer, in order (the envelope's send time left out), to compare the output of other code with.
``--malloc-stats`` prints where the RSS is by allocator (Python's arenas: blocks in use, free blocks in pools in
use, free pools; glibc's heap): memory that the deep sizes do not see.

``--changelog-out FILE`` also writes every changelog message the run would send (partition, key, value) to FILE;
``--restore-from FILE`` (a separate run: its RSS starts clean) loads such a file into a fresh store as the worker
does on an assignment (``load`` per message, ``compact`` at the end) and prints the CPU per message and the RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import hashlib
import itertools
import re
import struct
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import orjson
from aiokafka.producer.message_accumulator import BatchBuilder
from prometheus_client import CollectorRegistry

from benchmarks.memory import deep_size, proc_status
from benchmarks.stage_cpu import ROOT, city, run_ingest, run_linkage
from contracts.kafka_batches import murmur2
from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.adapters.clock import FixedClock
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.bootstrap import bootstrap
from services.scoring.config import ScoringSettings
from services.scoring.entrypoints.worker import FACTS, tune_gc
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from services.scoring.service_layer.state import WORKING

BATCH = 500
PARTITIONS = 6


def facts_of(scale: float, days: int, seed: int) -> list[tuple[bytes, bytes]]:
    path = ROOT / "var" / f"facts-{scale}-{days}-{seed}.jsonl"
    if not path.exists():
        started = time.monotonic()
        pairs = run_linkage(run_ingest(city(scale, days, seed)))
        path.write_bytes(b"".join(key + b"\t" + value + b"\n" for value, key in pairs if key is not None))
        print(f"city → ingest → linkage: {len(pairs):,} facts in {time.monotonic() - started:.0f} s ({path})")
    return [(key, value) for key, _, value in
            (line.partition(b"\t") for line in path.read_bytes().splitlines())]


def stream_facts(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """The facts of a file ``facts_of`` wrote, read as they are handled: none is held beside the store, so the RSS
    the store grows by is not mixed with the facts' (a list of them leaves its freed lines in the heap)."""
    with path.open("rb") as source:
        for line in source:
            key, _, value = line.rstrip(b"\n").partition(b"\t")
            yield key, value


def rss_mib() -> float:
    return proc_status()["VmRSS"] / 1024


def peak_mib() -> float:
    return proc_status()["VmHWM"] / 1024


async def load(facts: Iterable[tuple[bytes, bytes]], store: ChangelogStore, today: date,
               out: BinaryIO | None = None) -> tuple[int, int, int]:
    """The facts through the handler and the store as the worker runs them; the changelog bytes encoded (and
    written to ``out``: partition, key length, value length — -1 for a tombstone —, key, value)."""
    rulebook = load_rulebook(ScoringSettings().config_path)
    written = [0, 0]

    async def send(_topic: str, value: bytes | None, *, key: bytes, partition: int) -> None:
        written[0] += 1
        written[1] += len(value or b"") + len(key)
        if out is not None:
            out.write(_FRAME.pack(partition, len(key), -1 if value is None else len(value)) + key + (value or b""))

    handled, stream = 0, iter(facts)
    while batch := list(itertools.islice(stream, BATCH)):
        for key, value in batch:
            event_id, fact = decode_fact(value, key)
            handle_fact(fact, event_id=event_id, partition=zlib.crc32(key) % PARTITIONS, store=store,
                        rulebook=rulebook, today=today)
        handled += len(batch)
        await store.flush(send)
    return handled, written[0], written[1]


class _Batch:
    """A record batch as the worker builds it for the producer (aiokafka's ``BatchBuilder``, encoded as it encodes
    it), its records also hashed into the run's digest."""

    def __init__(self, digest: Any) -> None:
        self._builder = BatchBuilder(256 * 1024, 0)  # no compression
        self._digest = digest

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: int | None, headers: Any) -> Any:
        added = self._builder.append(key=key, value=value, timestamp=timestamp, headers=headers)
        if added is not None:
            self._digest.update((key or b"") + b"\0" + _SENT_AT.sub(b"", value or b"-") + b"\n")
        return added

    def close(self) -> None:
        self._builder.close()


class NullProducer:
    """The part of AIOKafkaProducer the worker uses, sending nothing: record batches built and dropped, each future
    done at once. What would have been sent (flags and replies, then changelog, in the order handed over; the
    envelope's send time left out) goes into ``digest``, to compare runs of other code with."""

    def __init__(self) -> None:
        self.digest = hashlib.blake2b(digest_size=8)

    def create_batch(self) -> _Batch:
        return _Batch(self.digest)

    async def send_batch(self, batch: _Batch, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.digest.update(f"{topic}@{partition}\n".encode())
        return self._done()

    async def send(self, topic: str, value: bytes | None = None, *, key: bytes | None = None,
                   partition: int | None = None, headers: Any = None) -> asyncio.Future[None]:
        self.digest.update(f"{topic}@{partition}\0".encode() + (key or b"") + b"\0" + (value or b"-") + b"\n")
        return self._done()

    async def partitions_for(self, _topic: str) -> set[int]:
        return set(range(PARTITIONS))

    @staticmethod
    def _done() -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


_SENT_AT = re.compile(rb'"time":"[^"]*",?')  # the flags envelope's send time: not the code's output


class _Record(NamedTuple):
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


class SimulatedTime:
    """``time`` as the worker module reads it, its monotonic clock moved by the benchmark (facts per second)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.time, self.perf_counter = time.time, time.perf_counter

    def monotonic(self) -> float:
        return self.now


async def through_worker(facts: Iterable[tuple[bytes, bytes]], store: ChangelogStore, today: date,
                         rate: float) -> tuple[Any, NullProducer]:
    """The facts through the worker's own batch handler (entrypoints/worker.py ``Scoring``: each batch's facts,
    then its flags and changelog records, then the eviction), its clock duties run as the worker runs them — the
    backlog's catch-up every second, the sweep every minute — on a clock that moves ``rate`` facts per second. In a
    drain every fact is a backlog's (its source event is older than ``CATCH_UP_AFTER_S``): recorded, and the
    children evaluated when they are released (after ``CATCH_UP_MAX_HOLD_S`` or at the end). Returns the worker and
    the producer."""
    from services.scoring.entrypoints import worker as worker_module

    clock = SimulatedTime()
    worker_module.time = clock  # type: ignore[assignment]  # the worker's duties read this clock
    settings = ScoringSettings(today=today, hot_children=store.hot_capacity)
    container = bootstrap(settings, clock=FixedClock(today), metrics=ScoringMetrics(CollectorRegistry()))
    producer = NullProducer()
    scoring = worker_module.Scoring(container, store, producer)  # type: ignore[arg-type]
    scoring.held = set(range(PARTITIONS))  # assigned, with an empty changelog
    lock = asyncio.Lock()
    next_catch_up, next_sweep = 1.0, settings.sweep_interval_seconds
    stream, offset = iter(facts), 0
    while batch := list(itertools.islice(stream, BATCH)):
        records = []
        for key, value in batch:
            records.append(_Record(FACTS, (murmur2(key) & 0x7FFFFFFF) % PARTITIONS, offset, key, value))
            offset += 1
        async with lock:
            await scoring(records)
        clock.now += len(batch) / rate
        while clock.now >= next_catch_up:
            await scoring.catch_up(lock)
            next_catch_up += 1.0
        if clock.now >= next_sweep:
            await scoring.sweep(lock)
            next_sweep += settings.sweep_interval_seconds
    clock.now += settings.catch_up_quiet_s  # the backlog is through: every child held is released
    await scoring.catch_up(lock)
    return scoring, producer


_FRAME = struct.Struct("<Bii")


def changelog_messages(path: Path) -> Iterator[tuple[int, bytes, bytes | None]]:
    """The messages ``--changelog-out`` wrote, in order."""
    with path.open("rb") as source:
        while header := source.read(_FRAME.size):
            partition, key_length, value_length = _FRAME.unpack(header)
            key = source.read(key_length)
            yield partition, key, None if value_length < 0 else source.read(value_length)


def restore_from(path: Path, hot: int) -> int:
    """A fresh store loads a changelog as the worker does on an assignment; CPU per message and RSS."""
    gc.collect()
    before, started = rss_mib(), time.process_time()
    store = ChangelogStore("scoring-child-state-changelog", hot_capacity=hot, on_evict=WORKING.forget)
    read = 0
    for partition, key, value in changelog_messages(path):
        store.load(partition, key, value)
        read += 1
    store.compact()
    cpu = time.process_time() - started
    gc.collect()
    after = rss_mib()
    print(f"restore: {read:,} changelog messages → {len(store):,} children held (all cold); CPU {cpu:.1f} s = "
          f"{1e3 * cpu / read:.3f} ms per message; RSS {before:.0f} → {after:.0f} MiB "
          f"({(after - before) * 2**20 / len(store):,.0f} bytes per child), peak {peak_mib():.0f} MiB; "
          f"spill file {spill_bytes(store) / 2**20:,.0f} MiB on disk")
    return 0


def spill_bytes(store: ChangelogStore) -> int:
    """Bytes of the spill file on disk (its pages), 0 when none was opened."""
    spill = getattr(store, "spill", None)  # (a store before the spill file: none)
    db = spill._db if spill is not None else None
    if db is None:
        return 0
    pages, size = db.execute("PRAGMA page_count").fetchone()[0], db.execute("PRAGMA page_size").fetchone()[0]
    return int(pages * size)


def malloc_stats() -> None:
    """Where the RSS is, by allocator: Python's small-object arenas (blocks in use, free blocks in pools in use,
    pools free) and glibc's heap (in use, free), from ``sys._debugmallocstats`` and ``mallinfo2``."""
    import ctypes
    import os
    import tempfile

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                          "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MallInfo2
    info = libc.mallinfo2()
    with tempfile.TemporaryFile("w+") as out:  # _debugmallocstats writes to the C stderr
        saved = os.dup(2)
        os.dup2(out.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read()

    def figure(label: str) -> float:
        found = re.search(rf"{label}\s*=\s*([\d,]+)", text)
        return int(found.group(1).replace(",", "")) / 2**20 if found else float("nan")

    arenas, in_use = figure(r"arenas \* \d+ bytes/arena"), figure("bytes in allocated blocks")
    free_blocks, free_pools = figure("bytes in available blocks"), figure(r"unused pools \* \d+ bytes")
    print(f"  pymalloc: {arenas:.0f} MiB of arenas: {in_use:.0f} in use, {free_blocks:.0f} free in pools in use, "
          f"{free_pools:.0f} in free pools; glibc heap {info.arena / 2**20:.0f} MiB ({info.uordblks / 2**20:.0f} "
          f"in use, {info.fordblks / 2**20:.0f} free), mmapped {info.hblkhd / 2**20:.0f}")


def parts_of(store: ChangelogStore) -> dict[str, tuple[int, list[Any]]]:
    """The parts of the store's memory: each its containers' own bytes and the objects it reaches, sized in this
    order (an object shared by two parts counts in the first)."""
    hot = list(store._hot.values())
    # a store before smem3 kept every child held in dicts (its partition, its row, what the clock reads of it)
    dicts = [getattr(store, name, {}) for name in ("_meta", "_cold", "_rows", "partition_of")]
    return {
        "store's dicts and child ids": (sum(map(sys.getsizeof, (store._hot, *dicts))),
                                        [key for d in dicts for key in d] + [value for d in dicts[:1] + dicts[2:]
                                                                             for value in d.values()]),
        "cold children, in memory": (0, list(getattr(store, "_cold", {}).values())),
        "hot: facts (f)": (0, [s.get("f") for s in hot]),
        "hot: versions (v)": (0, [s.get("v") for s in hot]),
        "hot: last assessment (a)": (0, [s.get("a") for s in hot]),
        "hot: rest of each state": (0, hot),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2025-08-01")
    parser.add_argument("--hot", type=int, default=ScoringSettings().hot_children,
                        help="children kept decoded (TSUNAGU_SCORING_HOT_CHILDREN)")
    parser.add_argument("--profile", help="write a cProfile (CPU clock) of the handling to this file")
    parser.add_argument("--changelog-out", type=Path, help="write the changelog messages to this file")
    parser.add_argument("--restore-from", type=Path, help="only load a changelog --changelog-out wrote")
    parser.add_argument("--worker", action="store_true",
                        help="the facts through the worker's own batch handler and clock duties (a drain's backlog "
                             "held and released), with a producer that sends nothing")
    parser.add_argument("--malloc-stats", action="store_true",
                        help="also print where the RSS is by allocator (Python's arenas, glibc's heap)")
    parser.add_argument("--rate", type=float, default=2500.0,
                        help="--worker: facts per second of the simulated clock (pipeline_e2e at scale 1.0: ≈ 2 700)")
    parser.add_argument("--gc-young", type=int, default=ScoringSettings().gc_young_threshold,
                        help="the garbage collector's youngest threshold, as the worker sets it "
                             "(TSUNAGU_SCORING_GC_YOUNG_THRESHOLD; Python's default 700)")
    args = parser.parse_args()
    tune_gc(args.gc_young)
    if args.restore_from:
        return restore_from(args.restore_from, args.hot)
    path = ROOT / "var" / f"facts-{args.scale}-{args.days}-{args.seed}.jsonl"
    if not path.exists():
        facts_of(args.scale, args.days, args.seed)  # written once (the city's generation leaves a large heap: run
        print("(the facts were generated in this run: run again for the RSS figures)")  # again for the RSS)
    gc.collect()
    before = rss_mib()
    store = ChangelogStore("scoring-child-state-changelog", hot_capacity=args.hot, on_evict=WORKING.forget)
    prof = cProfile.Profile(time.process_time) if args.profile else None
    started = time.process_time()
    if prof is not None:
        prof.enable()
    duties: Any = None
    if args.worker:
        facts = sum(1 for _ in stream_facts(path))
        scoring, producer = asyncio.run(through_worker(stream_facts(path), store, date.fromisoformat(args.today),
                                                       args.rate))
        duties, messages, written = scoring.duties, 0, 0
    else:
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(args.changelog_out.open("wb")) if args.changelog_out else None
            facts, messages, written = asyncio.run(load(stream_facts(path), store, date.fromisoformat(args.today),
                                                        out))
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    cpu = time.process_time() - started
    gc.collect()
    after = rss_mib()  # the growth is the store's
    children = len(store)
    print(f"{facts:,} facts → {children:,} children held ({store.hot:,} decoded, capacity {args.hot:,}; "
          f"WORKING keeps {len(WORKING):,} parsed); "
          + (f"through the worker's handler at {args.rate:,.0f} facts/s, output digest {producer.digest.hexdigest()}"
             if args.worker else f"{messages:,} changelog messages written ({written / messages:,.0f} bytes each)")
          + f"; handling CPU {cpu:.1f} s = {1e3 * cpu / facts:.3f} ms per fact")
    print(f"RSS {before:.0f} → {after:.0f} MiB: {(after - before) * 2**20 / children:,.0f} bytes per child; "
          f"peak {peak_mib():.0f} MiB; {children - store.hot:,} children cold; the spill file on disk (not in the "
          f"RSS): {spill_bytes(store) / 2**20:,.0f} MiB")
    if args.malloc_stats:
        malloc_stats()
    seen: set[int] = set()
    parts = parts_of(store)
    parts["parsed (WORKING)"] = (sys.getsizeof(WORKING._states), [entry[1] for entry in WORKING._states.values()])
    if duties is not None:
        parts["clock duties"] = (0, [duties.caught_up, duties.source_times, duties.settling])
    sizes = {name: own + deep_size(roots, seen) for name, (own, roots) in parts.items()}
    for name, size in sizes.items():
        print(f"  {name:<28} {size / children:>9,.0f} bytes per child")
    print(f"  {'sum':<28} {sum(sizes.values()) / children:>9,.0f} bytes per child "
          f"({sum(sizes.values()) / 2**20:,.0f} MiB)")
    encoded = [len(orjson.dumps(state)) for state in store.data.values()]
    print(f"one child's changelog value: mean {sum(encoded) / len(encoded):,.0f} bytes, "
          f"max {max(encoded):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
