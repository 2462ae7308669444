"""Linkage's memory: a synthetic city's records through ``LinkageService`` as the worker runs it (SQLite store and
outbox, batches of its size), then the process's RSS, what the state's parts hold, and a digest of every message
published (so two versions of the code can be shown to publish the same bytes). Issue 19: linkage is one instance
by design, so its RSS at scale 1.0 must fit.

    .venv/bin/python -m benchmarks.linkage_memory --scale 0.05              # ≈ 160 k records, ≈ 2 min
    .venv/bin/python -m benchmarks.linkage_memory --scale 0.05 --reload     # also: RSS after loading the store back
    .venv/bin/python -m benchmarks.linkage_memory --scale 0.005 --tracemalloc

The city's ingest records are written once to var/linkage-input-<scale>-<days>-<seed>.bin (by a child process, so
this one imports only linkage and holds no city) and read back batch by batch. Reported: VmRSS and VmHWM after the
run (after a full collection), the deep size of each part of the state (objects shared between parts counted once,
in the first part that reaches them), the CPU seconds of the run and a digest of every (topic, key, value,
headers) published, in order. ``--tracemalloc`` adds the ten source lines that allocated most of what is left.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from benchmarks.memory import deep_size, proc_status
from services.linkage.adapters.clock import SystemClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.bootstrap import match_settings, tune_collector
from services.linkage.config import LinkageSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService

ROOT = Path(__file__).resolve().parents[1]
TOPIC = "ingest.records.v1"


def _write_input(scale: float, days: int, seed: int, path: Path) -> None:
    """Runs in a child process: the city through ingest, each accepted record as length-prefixed key and value."""
    from benchmarks.stage_cpu import city, run_ingest

    records = run_ingest(city(scale, days, seed))
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for r in records:
            key = r.key or b""
            out.write(struct.pack("<II", len(key), len(r.value)) + key + r.value)
    tmp.replace(path)


def input_path(scale: float, days: int, seed: int) -> Path:
    path = ROOT / "var" / f"linkage-input-{scale}-{days}-{seed}.bin"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "benchmarks.linkage_memory", "--write-input", str(path),
                        "--scale", str(scale), "--days", str(days), "--seed", str(seed)], cwd=ROOT, check=True)
    return path


def batches(path: Path, size: int) -> Iterator[list[Incoming]]:
    batch: list[Incoming] = []
    offset = 0
    with path.open("rb") as f:
        while header := f.read(8):
            klen, vlen = struct.unpack("<II", header)
            key, value = f.read(klen), f.read(vlen)
            batch.append(Incoming(value, key or None, TOPIC, 0, offset))
            offset += 1
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def state_parts(state: LinkageState) -> list[tuple[str, int, int]]:
    """(part, entries, bytes) for the state's primary data and indexes as held in memory; a shared object counts in
    the first part. A source fact's record of what was sent (``sent`` and ``body``) is its own part, counted after
    the rest of the source facts. Attached to a store (as the worker runs), the source facts, processed records and
    the dependency index in memory are only the cache and what the last batch changed (the entries column says how
    many are held)."""
    seen: set[int] = {id(None), id(True), id(False)}
    facts = state.source_facts.in_memory()
    sfs = list(facts.values())
    sent_slots = frozenset({"sent", "body"})
    rest = deep_size([facts], seen, sent_slots)
    sent = [(sf.sent, sf.body) for sf in sfs]
    entries = sum(len(sf.sent) for sf in sfs)
    processed = state.processed.in_memory()
    parts: list[tuple[str, Any, int]] = [
        ("persons", state.persons.in_memory(), sum(len(part) for part in state.persons.in_memory())),
        ("source facts: sent", sent, entries),
        ("processed", processed, len(processed)),
        ("births", state.births, len(state.births)),
        ("reviews", state.reviews, len(state.reviews)),
        ("key_owner (kept)", state.key_owner.kept(), len(state.key_owner.kept())),
        ("deps", state.deps.in_memory(), 0),
        ("blocks", state.blocks, 0),
        ("households", state.households, len(state.households)),
        ("frequencies", [state.birth_date_freq, state.kana_freq, state.kanji_freq, state.surname_freq,
                         state.given_freq], 0),
        ("other indexes", [state.birth_by_pregnancy, state.deferred_by_record, state.cannot_by_key,
                           state.reviews_by_candidate, state.privacy], 0),
    ]
    sizes = [(name, n, deep_size([obj], seen)) for name, obj, n in parts]
    return [("source facts: the rest", len(facts), rest), *sizes]


def _store_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linkage_memory", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reload", action="store_true", help="then load the store into a fresh state, as a restart")
    parser.add_argument("--tracemalloc", action="store_true", help="top allocating lines (slow)")
    parser.add_argument("--in-memory", action="store_true",
                        help="keep the whole state in memory (not attached to the store: as before issue 19's pass)")
    parser.add_argument("--fact-cache", type=int, help="source facts kept between batches (default: the state's)")
    parser.add_argument("--person-cache", type=int,
                        help="adults kept between batches (default: the state's; children are always kept)")
    parser.add_argument("--sqlite-cache-mib", type=int, default=LinkageSettings().sqlite_cache_mib,
                        help="SQLite's page cache for the state's connection")
    parser.add_argument("--write-input", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.write_input:
        _write_input(args.scale, args.days, args.seed, args.write_input)
        return 0
    path = input_path(args.scale, args.days, args.seed)
    settings = LinkageSettings()
    gc.collect()
    gc.freeze()
    tune_collector()  # as the worker does after loading its state
    base = proc_status()
    if args.tracemalloc:
        tracemalloc.start()
    digest, records, published = hashlib.sha256(), 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "linkage.db"
        store = SqliteStore(f"sqlite:///{db}", cache_kib=args.sqlite_cache_mib * 1024)
        state = LinkageState()
        if not args.in_memory:
            store.load(state)  # as the worker starts: attached to its store
        if args.fact_cache is not None:
            state.source_facts.cache_size = args.fact_cache
        if args.person_cache is not None:
            state.persons.cache_size = args.person_cache
        service = LinkageService(state, store, LinkageMetrics(CollectorRegistry()), match_settings(settings),
                                 settings.source_uri, clock=SystemClock())
        wall, cpu = time.perf_counter(), time.process_time()
        for batch in batches(path, settings.batch_size):
            sent = service.handle_records(batch)
            store.acknowledge([seq for seq, _ in sent])
            records += len(batch)
            published += len(sent)
            for _, (topic, key, value, headers) in sent:
                digest.update(b"%d|%s|%d|%s|%d|%s|" % (len(topic), topic.encode(), len(key or b""), key or b"",
                                                       len(value or b""), value or b""))
                digest.update(repr(sorted(headers.items())).encode())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        gc.collect()
        after = proc_status()
        print(f"scale {args.scale}: {records:,} records → {published:,} messages; {len(state.persons):,} persons, "
              f"{len(state.source_facts):,} source facts; CPU {cpu:.1f} s ({1e3 * cpu / records:.3f} ms/record), "
              f"wall {wall:.1f} s; digest {digest.hexdigest()[:16]}")
        print(f"read from the store: source facts {state.source_facts.reads:,}, processed {state.processed.reads:,}, "
              f"persons {state.persons.reads:,}; "
              f"store {_store_mib(db):.0f} MiB")
        print(f"RSS before {base['VmRSS'] / 1024:.0f} MiB, after {after['VmRSS'] / 1024:.0f} MiB "
              f"(+{(after['VmRSS'] - base['VmRSS']) / 1024:.0f}), peak {after['VmHWM'] / 1024:.0f} MiB"
              + ("  [tracemalloc on: RSS includes its own bookkeeping]" if args.tracemalloc else ""))
        if args.tracemalloc:
            snapshot = tracemalloc.take_snapshot()
            tracemalloc.stop()
            print("top allocating lines (still held):")
            for stat in snapshot.statistics("lineno")[:10]:
                print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:>9,}  {stat.traceback[0]}")
            del snapshot
        parts = state_parts(state)
        total = sum(size for _, _, size in parts)
        print(f"state, deep size {total / 2**20:.0f} MiB:")
        for name, n, size in parts:
            print(f"  {name:<24} {n:>10,}  {size / 2**20:8.1f} MiB")
        if args.reload:
            del service, state
            gc.collect()
            before = proc_status()["VmRSS"]
            started = time.process_time()
            fresh = LinkageState()
            if args.fact_cache is not None:
                fresh.source_facts.cache_size = args.fact_cache
            if args.person_cache is not None:
                fresh.persons.cache_size = args.person_cache
            rows = store.load(fresh)
            gc.collect()
            print(f"reload: {rows:,} rows in {time.process_time() - started:.1f} s CPU; RSS "
                  f"{before / 1024:.0f} → {proc_status()['VmRSS'] / 1024:.0f} MiB; deep size "
                  f"{sum(s for _, _, s in state_parts(fresh)) / 2**20:.0f} MiB")
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
