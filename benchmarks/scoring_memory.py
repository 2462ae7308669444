"""What a child's state costs scoring in memory, by part, after a synthetic city's facts went through the handlers
(issue 19: all four services ≤ 2 GiB at scale 1.0).

    .venv/bin/python -m benchmarks.scoring_memory [--scale 0.05] [--days 120] [--seed 7] [--today 2025-08-01]
        [--hot N] [--gc-young 50000] [--profile var/scoring-memory.prof] [--changelog-out FILE]
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
import itertools
import struct
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from benchmarks.memory import deep_size, proc_status
from benchmarks.stage_cpu import ROOT, city, run_ingest, run_linkage
from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import ScoringSettings
from services.scoring.entrypoints.worker import tune_gc
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


def parts_of(store: ChangelogStore) -> dict[str, tuple[int, list[Any]]]:
    """The parts of the store's memory: each its containers' own bytes and the objects it reaches, sized in this
    order (an object shared by two parts counts in the first)."""
    hot = list(store._hot.values())
    rows: dict[str, int] = getattr(store, "_rows", {})  # (a store before the spill file: none)
    return {
        "store's dicts and child ids": (sum(map(sys.getsizeof, (store._hot, store._cold, rows, store.partition_of))),
                                        [*store.partition_of, *store.partition_of.values(), *rows.values()]),
        "cold children, in memory": (0, list(store._cold.values())),
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
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(args.changelog_out.open("wb")) if args.changelog_out else None
        facts, messages, written = asyncio.run(load(stream_facts(path), store, date.fromisoformat(args.today), out))
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    cpu = time.process_time() - started
    gc.collect()
    after = rss_mib()  # the growth is the store's
    children = len(store)
    print(f"{facts:,} facts → {children:,} children held ({store.hot:,} decoded, capacity {args.hot:,}; "
          f"WORKING keeps {len(WORKING):,} parsed); {messages:,} changelog messages written "
          f"({written / messages:,.0f} bytes each); handling CPU {cpu:.1f} s = {1e3 * cpu / facts:.3f} ms "
          f"per fact")
    print(f"RSS {before:.0f} → {after:.0f} MiB: {(after - before) * 2**20 / children:,.0f} bytes per child; "
          f"peak {peak_mib():.0f} MiB; {children - store.hot:,} children cold; the spill file on disk (not in the "
          f"RSS): {spill_bytes(store) / 2**20:,.0f} MiB")
    seen: set[int] = set()
    parts = parts_of(store)
    parts["parsed (WORKING)"] = (sys.getsizeof(WORKING._states), [entry[1] for entry in WORKING._states.values()])
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
