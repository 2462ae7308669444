"""The daily clock sweep over Fukuoka's ≈220 000 children on one core (target: under 60 s).

    .venv/bin/python -m benchmarks.scoring_sweep [--children 220000] [--rules fukuoka|guideline-all]

Three sweeps over the same states, as the worker's timer runs them (sweep_child on every local child):
  1. first sweep — every child evaluated afresh (after new rules, or states recovered from an older version);
  2. the next day — only children whose next-change date has come are evaluated (windows closing, benefits
     starting or ending); the rest are skipped on a date comparison;
  3. 1 April — the school year turns over, so every child with attendance facts is evaluated again.
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc
from datetime import date, timedelta
from typing import Any

from benchmarks.scoring_population import child_facts
from benchmarks.scoring_throughput import calibration
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import CONFIG_DIR
from services.scoring.service_layer.handlers import sweep_child


class CountingStore:
    def __init__(self, states: dict[str, dict[str, Any]]) -> None:
        self.states = states
        self.writes = 0

    def get(self, child_id: str) -> dict[str, Any] | None:
        return self.states.get(child_id)

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        self.states[child_id] = state
        self.writes += 1


def build_states(children: int, today: date) -> dict[str, dict[str, Any]]:
    rng = random.Random(11)
    states = {}
    for number in range(children):
        facts = child_facts(rng, number, today)
        stored = {f["fact_id"]: {k: v for k, v in f.items() if k not in ("child_id", "status")} for f in facts}
        states[facts[0]["child_id"]] = {"p": number % 6, "f": stored, "a": None, "w": None}
    return states


def sweep(label: str, store: CountingStore, rulebook: Any, today: date) -> None:
    store.writes = 0
    published = 0
    started, cpu = time.perf_counter(), time.process_time()
    for child_id, raw in list(store.states.items()):
        if sweep_child(child_id, raw, store=store, rulebook=rulebook, today=today) is not None:
            published += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label:34s} {elapsed:7.1f} s wall {cpu:7.1f} s CPU  ({len(store.states)} children, "
          f"{published} flag changes published, {store.writes} states written)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=220_000)
    parser.add_argument("--rules", default="fukuoka")
    parser.add_argument("--no-gc-freeze", action="store_true",
                        help="leave the states in the cyclic GC's generations (the worker freezes them)")
    args = parser.parse_args()
    today = date(2026, 6, 1)
    rulebook = load_rulebook(CONFIG_DIR / f"{args.rules}.toml")
    tracemalloc.start()
    started = time.perf_counter()
    store = CountingStore(build_states(args.children, today))
    size, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"scoring sweep: {args.children} children, rules {args.rules} "
          f"(states built in {time.perf_counter() - started:.0f} s, {size / 2**20:.0f} MiB before evaluation)")
    if not args.no_gc_freeze:
        gc.freeze()  # as the worker does before each sweep: long-lived state is not traversed again and again
    sweep("first sweep (all evaluated)", store, rulebook, today)
    sweep("next day", store, rulebook, today + timedelta(days=1))
    sweep("a week later, day by day (per day)", store, rulebook, today + timedelta(days=8))
    sweep("1 April (school year turns over)", store, rulebook, date(2027, 4, 1))
    print(calibration())


if __name__ == "__main__":
    main()
