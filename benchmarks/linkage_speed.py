"""Linkage speed against Splink in one process, on the same records (issue 14): registry load and school matching
with wall and CPU seconds each, records/s per stage, Splink's wall and CPU beside, and a digest of every record's
outcome and published messages (so two versions of the code can be shown to decide the same).

    .venv/bin/python -m benchmarks.linkage_speed --households 31000            # ≈ 100 k persons
    .venv/bin/python -m benchmarks.linkage_speed --households 31000 --profile  # cProfile (CPU clock) per stage
    TSUNAGU_LINKAGE_NATIVE=0 .venv/bin/python -m benchmarks.linkage_speed ...   # the pure Python (make native builds
                                                                               # the compiled modules)

The machine may be shared: compare the two systems' CPU seconds and their ratio within one run, not wall times
from different runs. Splink runs DuckDB on one thread (single process, as Tsunagu's worker)."""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pstats
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from benchmarks.linkage_synth import Population, add_students, build, real_pool, small_pool
from contracts.topics.ingest_records import RecordV1
from services.linkage import native
from services.linkage.bootstrap import GC_THRESHOLDS, tune_collector
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change


@dataclass
class Stage:
    name: str
    records: int
    wall: float
    cpu: float
    gc: float = 0.0  # CPU seconds in the cyclic garbage collector (part of ``cpu``)
    collected: int = 0  # objects the collector found unreachable (cyclic garbage)

    def line(self) -> str:
        return (f"{self.name:<16} {self.records:>8,} records  wall {self.wall:7.2f} s "
                f"({self.records / self.wall:>8,.0f}/s)  CPU {self.cpu:7.2f} s ({self.records / self.cpu:>8,.0f}/s), "
                f"of which the garbage collector {self.gc:.2f} s ({self.collected:,} objects collected)")


class _Collector:
    """CPU time the cyclic garbage collector takes (gc.callbacks), which grows with the state held."""

    def __init__(self) -> None:
        self.seconds, self._started, self.collected = 0.0, 0.0, 0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.seconds += time.process_time() - self._started
            self.collected += info.get("collected", 0)


def _stage(name: str, records: Iterable[RecordV1], state: LinkageState, settings: MatchSettings,
           digest: Any | None, profile: bool) -> Stage:
    batch = list(records)
    profiler = cProfile.Profile(time.process_time) if profile else None
    collector = _Collector()
    gc.callbacks.append(collector)
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    if digest is None:
        for rec in batch:
            handle_record(rec, Change(state, rec.occurred_at), settings)
    else:
        for rec in batch:
            result = handle_record(rec, Change(state, rec.occurred_at), settings)
            digest.update(orjson.dumps([rec.record_id, result.outcome, [(o.channel, o.key, o.payload)
                                                                         for o in result.out]],
                                       option=orjson.OPT_SORT_KEYS))
    if profiler is not None:
        profiler.disable()
    stage = Stage(name, len(batch), time.perf_counter() - wall, time.process_time() - cpu, collector.seconds,
                  collector.collected)
    gc.callbacks.remove(collector)
    if profiler is not None:
        print(f"\n--- profile: {name} (CPU clock) ---")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return stage


def tsunagu(pop: Population, with_digest: bool = False, profile: bool = False,
            default_gc: bool = False) -> tuple[list[Stage], str]:
    """Both stages in this process, as the worker runs them: what the process held before (the population, Splink's
    leftovers) frozen out of the collector's way, as the worker freezes its loaded state, and the worker's collector
    thresholds (``default_gc``: neither, Python's defaults)."""
    state, settings = LinkageState(), MatchSettings()
    digest = hashlib.sha256() if with_digest else None
    thresholds = gc.get_threshold()
    if not default_gc:
        gc.collect()
        gc.freeze()
        tune_collector()
    try:
        stages = [_stage("registry load", pop.registry_records(), state, settings, digest, profile),
                  _stage("school matching", (rec for rec, _ in pop.students), state, settings, digest, profile)]
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
    return stages, digest.hexdigest()[:16] if digest is not None else "-"


def timed(run: Callable[[], Any]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="linkage_speed")
    parser.add_argument("--households", type=int, default=31_000, help="≈ 3.2 persons each (31 000 ≈ 100 k)")
    parser.add_argument("--small-pool", action="store_true", help="the small name pool instead of real names")
    parser.add_argument("--skip-splink", action="store_true")
    parser.add_argument("--digest", action="store_true", help="hash every outcome and message (costs CPU)")
    parser.add_argument("--profile", action="store_true", help="cProfile each stage on the CPU clock")
    parser.add_argument("--default-gc", action="store_true",
                        help="Python's collector as it is, instead of the worker's: nothing frozen, thresholds "
                             "700/10/10 (services/linkage/bootstrap.py)")
    args = parser.parse_args(argv)
    pop = build(args.households, names=small_pool() if args.small_pool else real_pool())
    add_students(pop)
    print(f"{len(pop.persons):,} registry persons, {len(pop.students):,} school records")
    if not args.skip_splink:  # first, so its import and DuckDB warm-up are not charged to it twice
        from benchmarks import linkage_splink

        linkage_splink.run(pop)  # warm-up: imports, DuckDB extension loading
        runs: list[Any] = []
        wall, cpu = timed(lambda: runs.append(linkage_splink.run(pop)))
        splink = runs[0]
        print(f"Splink 5 (DuckDB, one thread): linking (settings, training, prediction, clustering) "
              f"{splink.seconds:.2f} s wall; the whole call {wall:.2f} s wall, CPU {cpu:.2f} s (records to "
              f"frames {splink.frames_seconds:.2f} s, results back to Python {splink.results_seconds:.2f} s)")
    stages, digest = tsunagu(pop, args.digest, args.profile, args.default_gc)
    print(f"collector thresholds {GC_THRESHOLDS if not args.default_gc else gc.get_threshold()}; linkage modules "
          f"compiled: {len(native.active())} of {len(native.COMPILED)} (services/linkage/native.py; "
          f"{native.SWITCH}=0 for the pure Python)")
    for stage in stages:
        print(f"Tsunagu {stage.line()}")
    total_wall, total_cpu = sum(s.wall for s in stages), sum(s.cpu for s in stages)
    print(f"Tsunagu total    wall {total_wall:.2f} s, CPU {total_cpu:.2f} s; digest {digest}")
    if not args.skip_splink:
        print(f"Tsunagu / Splink: wall {total_wall / splink.seconds:.2f} against its linking, "
              f"{total_wall / wall:.2f} against the whole call; CPU {total_cpu / cpu:.2f} against the whole call")


if __name__ == "__main__":
    main()
