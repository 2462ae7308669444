"""Generation of the synthetic Fukuoka: population and one year of events for all 16 systems.

    .venv/bin/python -m benchmarks.simulator_generate [--scale 1.0] [--days 365] [--out FILE.jsonl]

Builds the city, draws every event and encodes each as it would be sent (the envelope as UTF-8 JSON); with
--out also writes them. Prints wall and CPU time per phase (the machine is shared: CPU time is the steadier
figure), events per system, and the peak resident memory. Targets at scale 1.0: < 5 min, < 4 GiB.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import Counter
from datetime import date
from pathlib import Path

from simulator.city import City
from simulator.life.engine import SimConfig
from simulator.population.names import NameBank
from simulator.sinks.jsonl import jsonl_line


def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024  # Linux: KiB


class Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    total, clock = Clock(), Clock()
    names = NameBank.load()
    city = City(SimConfig(seed=args.seed, scale=args.scale, start=date(2025, 4, 1), days=args.days), names=names)
    build = clock.lap()
    per_system: Counter[str] = Counter()
    encoded_bytes = 0
    go_live: tuple[float, float] | None = None
    out = args.out.open("wb") if args.out else None
    start = city.config.start
    for event in city.events():
        if go_live is None and event.time.date() != start:
            go_live = clock.lap()
        line = jsonl_line(event)
        encoded_bytes += len(line)
        if out is not None:
            out.write(line + b"\n")
        per_system[event.system] += 1
    if out is not None:
        out.close()
    days = clock.lap()
    wall, cpu = total.lap()
    n = sum(per_system.values())
    sim = city.sim
    print(f"synthetic Fukuoka, scale {args.scale}, {args.days} days from {start}, seed {args.seed}")
    print(f"  residents on day 0: {sum(1 for p in sim.pop.persons if p.birth <= sim.day0):,}; households: "
          f"{len(sim.pop.households):,}")
    for system, count in sorted(per_system.items()):
        print(f"  {system:<26} {count:>10,}")
    print(f"  {'events':<26} {n:>10,}  ({encoded_bytes / n:.0f} B each as JSON)")
    if go_live is None:
        go_live = days
    print(f"  build population    wall {build[0]:7.1f} s   cpu {build[1]:7.1f} s")
    print(f"  go-live load        wall {go_live[0]:7.1f} s   cpu {go_live[1]:7.1f} s")
    print(f"  the year's events   wall {days[0]:7.1f} s   cpu {days[1]:7.1f} s")
    print(f"  total               wall {wall:7.1f} s   cpu {cpu:7.1f} s   ({n / wall:,.0f} events/s wall, "
          f"{n / cpu:,.0f} events/s cpu)   target < 300 s")
    print(f"  peak memory (RSS)   {peak_rss_gib():.2f} GiB   target < 4 GiB")


if __name__ == "__main__":
    main()
