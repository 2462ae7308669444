"""Are linkage's facts and scoring's flags a function of the facts, whatever order they arrive in? One synthetic
city through ingest, linkage and scoring in process, once per arrival order, compared child by child.

    .venv/bin/python -m benchmarks.linkage_order [--scale 0.02] [--days 120] [--orders generated,topics,...]

The orders (each keeps the order within one source stream, as Kafka keeps it within a partition):

- ``generated``: as the simulator wrote the city (by date);
- ``topics`` / ``topics-reversed``: one source topic after another (a consumer reading a large fetch of one topic
  before the next; aiokafka's 50 MiB fetches at a backlog come close to this);
- ``streams-<n>``: the source topics split into streams by key (as partitions are), interleaved in runs of random
  length (1 to 2 000 records) drawn with seed ``n``.

Reported per order against the first: the children whose final facts differ (a fact is its id, kind, relation,
validity and attributes; versions and record ids left out), the children whose final flags differ, and for the
first few of them the facts one order gave and the other did not. Everything here is synthetic.
"""

from __future__ import annotations

import argparse
import json
import random
import zlib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from benchmarks.stage_cpu import FLAGS, city, run_ingest, run_linkage, run_scoring
from services.ingest.service_layer.handlers import SourceMessage

ORDERS = ("generated", "topics", "topics-reversed", "streams-1", "streams-2")
STREAMS_PER_TOPIC = 6  # the catalogue's source topics have 6 partitions


def reorder(messages: list[SourceMessage], order: str) -> list[SourceMessage]:
    if order == "generated":
        return list(messages)
    if order in ("topics", "topics-reversed"):
        topics = sorted({m.topic for m in messages}, reverse=order == "topics-reversed")
        rank = {t: i for i, t in enumerate(topics)}
        return sorted(messages, key=lambda m: rank[m.topic])  # stable: the order within a topic stays
    if order.startswith("streams-"):
        rng = random.Random(int(order.split("-", 1)[1]))
        streams: dict[tuple[str, int], list[SourceMessage]] = defaultdict(list)
        for m in messages:
            streams[(m.topic, zlib.crc32(m.key or b"") % STREAMS_PER_TOPIC)].append(m)
        queues = [list(reversed(s)) for _, s in sorted(streams.items())]
        out: list[SourceMessage] = []
        while queues:
            queue = queues[rng.randrange(len(queues))]
            for _ in range(min(len(queue), rng.randint(1, 2000))):
                out.append(queue.pop())
            queues = [q for q in queues if q]
        return out
    raise ValueError(f"unknown order {order!r}")


def final_facts(facts: Iterable[tuple[bytes, bytes | None]]) -> dict[str, dict[str, str]]:
    """child id → fact id → the fact as it stands at the end (asserted only), without versions and record ids."""
    latest: dict[tuple[str, str], tuple[int, dict]] = {}
    for value, _key in facts:
        data = json.loads(value)["data"]
        at = (data["child_id"], data["fact_id"])
        version = data.get("version") or 0
        if at not in latest or version >= latest[at][0]:
            latest[at] = (version, data)
    by_child: dict[str, dict[str, str]] = defaultdict(dict)
    for (child, fact_id), (_v, data) in latest.items():
        if data["status"] != "asserted":
            continue
        by_child[child][fact_id] = json.dumps(
            {k: data.get(k) for k in ("kind", "relation", "source_system", "record_date", "valid_from", "valid_to",
                                      "attributes")}, ensure_ascii=False, sort_keys=True)
    return dict(by_child)


def final_flags(flags: Iterable[bytes]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for value in flags:
        data = json.loads(value)["data"]
        out[data["child_id"]] = sorted(f["item"] for f in data["after"]["flags"])
    return {child: items for child, items in out.items() if items}


def run(messages: list[SourceMessage], today: date) -> tuple[dict[str, dict[str, str]], dict[str, list[int]]]:
    facts = run_linkage(run_ingest(messages))
    run_scoring(facts, today)
    return final_facts(facts), final_flags(FLAGS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="linkage_order", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.02)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2025-08-01", help="scoring's fixed evaluation date (as pipeline_e2e)")
    parser.add_argument("--orders", default=",".join(ORDERS))
    parser.add_argument("--show", type=int, default=5, help="children shown fact by fact per order")
    args = parser.parse_args(argv)
    messages = city(args.scale, args.days, args.seed)
    today = date.fromisoformat(args.today)
    orders = args.orders.split(",")
    base_facts, base_flags = run(reorder(messages, orders[0]), today)
    print(f"scale {args.scale}, {len(messages):,} source events; {orders[0]}: {len(base_facts):,} children with "
          f"facts, {len(base_flags):,} flagged", flush=True)
    worst = 0
    for order in orders[1:]:
        facts, flags = run(reorder(messages, order), today)
        fact_diff = sorted(c for c in set(base_facts) | set(facts) if base_facts.get(c) != facts.get(c))
        flag_diff = sorted(c for c in set(base_flags) | set(flags) if base_flags.get(c) != flags.get(c))
        worst = max(worst, len(fact_diff), len(flag_diff))
        print(f"{order}: {len(facts):,} children with facts, {len(flags):,} flagged; facts differ for "
              f"{len(fact_diff):,} children, final flags for {len(flag_diff):,}", flush=True)
        for child in (flag_diff + [c for c in fact_diff if c not in flag_diff])[:args.show]:
            a, b = base_facts.get(child, {}), facts.get(child, {})
            print(f"  child {child}: flags {base_flags.get(child, [])} vs {flags.get(child, [])}")
            for fact_id in sorted(set(a) | set(b)):
                if a.get(fact_id) != b.get(fact_id):
                    print(f"    {fact_id}\n      {orders[0]}: {a.get(fact_id)}\n      {order}: {b.get(fact_id)}")
    return 1 if worst else 0


if __name__ == "__main__":
    raise SystemExit(main())
