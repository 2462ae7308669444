"""Fact updates per second through scoring's handler on one core: decode, update state, evaluate, compare, publish.

    .venv/bin/python -m benchmarks.scoring_throughput [--children 20000] [--rules fukuoka|guideline-all]

Two streams over the same synthetic children:
  * initial load — every child's history at once, registry first (flags rise and fall while the rest arrives);
  * steady state — with those states in place, the day-to-day changes: monthly attendance, checkups,
    benefits starting and ending, EPDS, corrections and redeliveries.
Each is measured with state kept as objects (Faust's memory store) and with the state serialised to JSON on
every update (the cost of the changelog write). The handler keeps each child's parsed state between its updates
(services.scoring.service_layer.state.WORKING, bounded); the last two lines have none kept, as for a child whose
state was just recovered or has fallen out of that bound. Wall-clock and CPU rates are printed: the machine is shared.
Target: ≥ 10 000 updates/s.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import date, timedelta
from typing import Any

from faust.utils import json as faust_json

from benchmarks.scoring_population import _fact, child_facts, envelope
from services.scoring.adapters.memory_store import MemoryStateStore
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import CONFIG_DIR
from services.scoring.domain.rulebook import Rulebook
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from services.scoring.service_layer.state import WORKING


class DictStore(MemoryStateStore):
    def __init__(self, serialise: bool) -> None:
        super().__init__()
        self.serialise = serialise

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        if self.serialise:
            faust_json.dumps(state)  # what Faust's json codec does for the changelog (orjson when installed)
        super().put(child_id, state, partition)


def initial_load(rng: random.Random, children: int, today: date) -> list[dict[str, Any]]:
    per_child = [child_facts(rng, n, today) for n in range(children)]
    slots = [n for n, facts in enumerate(per_child) for _ in facts]
    rng.shuffle(slots)
    cursors = [0] * len(per_child)
    stream = []
    for n in slots:
        stream.append(per_child[n][cursors[n]])
        cursors[n] += 1
    return stream


def steady_state(rng: random.Random, loaded: list[dict[str, Any]], count: int, today: date) -> list[dict[str, Any]]:
    by_child: dict[str, list[dict[str, Any]]] = {}
    for fact in loaded:
        by_child.setdefault(fact["child_id"], []).append(fact)
    children = sorted(by_child)
    updates = []
    while len(updates) < count:
        child = rng.choice(children)
        roll = rng.random()
        if roll < 0.55:  # the next month's attendance
            month = rng.choice([11, 12, 1, 2])
            updates.append(_fact(child, f"att-{child}-{month}", "attendance", school_year=today.year - 1, month=month,
                                 absence_days=rng.choice([0, 0, 1, 3, 8]), late_arrivals=rng.choice([0, 0, 2, 6])))
        elif roll < 0.70:  # a benefit starts or ends
            start = (today - timedelta(days=rng.randrange(1, 400))).isoformat()
            end = rng.choice([None, (today - timedelta(days=rng.randrange(0, 30))).isoformat()])
            kind, relation, attrs = rng.choice([("public_assistance", "household", {"case_no": "C"}),
                                                ("allowance", "guardian", {"allowance": "jido_fuyo_teate"})])
            updates.append(_fact(child, f"{kind}-{child}", kind, relation, valid_from=start, valid_to=end, **attrs))
        elif roll < 0.80:  # a checkup recorded or corrected
            on = (today - timedelta(days=rng.randrange(0, 60))).isoformat()
            updates.append(_fact(child, f"chk-3y-{child}", "infant_checkup", valid_from=on, checkup="3y",
                                 checkup_date=on, attended=True, weight_kg=round(rng.uniform(11, 17), 1)))
        elif roll < 0.85:  # a mother's postpartum checkup
            on = (today - timedelta(days=rng.randrange(0, 60))).isoformat()
            updates.append(_fact(child, f"epds-{child}", "postpartum_checkup", "mother", valid_from=on,
                                 epds_total=rng.randrange(0, 15), epds_item10=0))
        else:  # a redelivery of something the child already has (at-least-once)
            updates.append(rng.choice(by_child[child]))
    return updates


def run(label: str, stream: list[tuple[bytes, bytes]], rulebook: Rulebook, today: date,
        store: DictStore) -> None:
    published = 0
    started, cpu = time.perf_counter(), time.process_time()
    for number, (value, key) in enumerate(stream):
        event_id, fact = decode_fact(value, key)
        _, message = handle_fact(fact, event_id=event_id, partition=number % 6, store=store, rulebook=rulebook,
                                 today=today)
        if message is not None:
            message.value  # noqa: B018 - the output is serialised too
            published += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(f"  {label:44s} {len(stream) / elapsed:8,.0f} updates/s wall {len(stream) / cpu:8,.0f} per CPU-s"
          f"  ({len(stream)} updates, {elapsed:.1f} s, {published} published)")


def calibration() -> str:
    """A fixed pure-Python loop, timed here: on an unloaded core of a current machine it takes ≈ 0.4 s of CPU.
    Scale the rates above by how much longer it took (the machine is shared)."""
    started = time.process_time()
    total = 0
    for number in range(10_000_000):
        total += number
    return f"calibration: a 10 M-iteration Python loop took {time.process_time() - started:.2f} s of CPU"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--children", type=int, default=20_000)
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--rules", default="fukuoka")
    args = parser.parse_args()
    today = date(2026, 6, 1)
    rulebook = load_rulebook(CONFIG_DIR / f"{args.rules}.toml")
    rng = random.Random(7)
    loaded = initial_load(rng, args.children, today)
    updates = steady_state(rng, loaded, args.updates, today)
    encode = [(envelope(f), f["child_id"].encode()) for f in loaded]
    encoded_updates = [(envelope(f), f["child_id"].encode()) for f in updates]
    print(f"scoring throughput: {args.children} children, rules {args.rules}")
    for serialise in (False, True):
        suffix = " + JSON state" if serialise else ""
        store = DictStore(serialise)
        run(f"initial load{suffix}", encode, rulebook, today, store)
        run(f"steady state{suffix}", encoded_updates, rulebook, today, store)
    capacity, WORKING.capacity = WORKING.capacity, 0
    store = DictStore(True)
    run("initial load + JSON state, none kept", encode, rulebook, today, store)
    run("steady state + JSON state, none kept", encoded_updates, rulebook, today, store)
    WORKING.capacity = capacity
    print(calibration())


if __name__ == "__main__":
    main()
