"""CPU per source event of each stage's handlers, in process, without Kafka or Faust (issue 19).

    .venv/bin/python -m benchmarks.stage_cpu [--scale 0.002] [--days 120] [--profile linkage] [--repeat 3]

The simulator's city (written once to var/city-<scale>-<days>.jsonl) goes through ingest's pipeline, then
linkage's service (its SQLite store and outbox in a temporary directory, batches of the worker's size), then
scoring's fact handler (state kept as the Faust memory table keeps it, plus the JSON its changelog would carry),
then casework's worker handlers (profiles, then flags, SQLite in a temporary directory),
each stage fed with the previous stage's output. Reported: CPU milliseconds (``time.process_time``: this
process only, so other load on the machine barely moves it) per *source* event, per stage — the best of
``--repeat`` runs. The difference between these and benchmarks/pipeline_e2e.py's per-process figures is what the
worker around the handlers costs (Faust, aiokafka, the event loop). ``--profile STAGE`` writes a cProfile (CPU
clock) of that stage to var/stage-<stage>.prof.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from faust.utils import json as faust_json
from prometheus_client import CollectorRegistry

from contracts.topics import linkage_children, linkage_facts
from services.casework.bootstrap import bootstrap as bootstrap_casework
from services.casework.config import CaseworkSettings
from services.casework.service_layer.worker import WorkerHandlers
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, SourceMessage, process
from services.linkage.adapters.clock import SystemClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.bootstrap import match_settings
from services.linkage.config import LinkageSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.scoring.adapters.memory_store import MemoryStateStore
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import ScoringSettings
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from services.scoring.service_layer.state import WORKING

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TIMESTAMP_S = 1_754_000_000.0  # Kafka timestamps as Faust hands them: seconds


class ChangelogStore(MemoryStateStore):
    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        faust_json.dumps(state)  # what the table's changelog write costs
        super().put(child_id, state, partition)


def city(scale: float, days: int, seed: int) -> list[SourceMessage]:
    path = ROOT / "var" / f"city-{scale}-{days}-{seed}.jsonl"
    if not path.exists():
        path.parent.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "simulator", "generate", "--seed", str(seed), "--scale", str(scale),
                        "--days", str(days), "--out", str(path), "--no-progress"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    messages = []
    for offset, line in enumerate(path.read_text().splitlines()):
        row = json.loads(line)
        value = json.dumps(row["value"], ensure_ascii=False).encode() if not isinstance(row["value"], str) \
            else row["value"].encode()
        messages.append(SourceMessage(row["topic"], 0, offset, (row.get("key") or "").encode(), value, [],
                                      SOURCE_TIMESTAMP_S + offset / 1000))
    return messages


def run_ingest(messages: list[SourceMessage]) -> list[Incoming]:
    dedup, metrics = MemoryDedupStore(), IngestMetrics(CollectorRegistry())
    out = []
    for m in messages:
        outcome = process(m, dedup=dedup, metrics=metrics, max_event_bytes=1 << 20)
        if isinstance(outcome, Accepted):
            out.append(Incoming(outcome.value, outcome.key, "ingest.records.v1", 0, len(out)))
    return out


CHILDREN: list[bytes] = []  # linkage's child profiles, casework's other input
FLAGS: list[bytes] = []  # scoring's published flags messages


def run_linkage(records: list[Incoming]) -> list[tuple[bytes, bytes | None]]:
    settings = LinkageSettings()
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(f"sqlite:///{tmp}/linkage.db")
        service = LinkageService(LinkageState(), store, LinkageMetrics(CollectorRegistry()),
                                 match_settings(settings), settings.source_uri, clock=SystemClock())
        facts = []
        CHILDREN.clear()
        for start in range(0, len(records), settings.batch_size):
            sent = service.handle_records(records[start:start + settings.batch_size])
            store.acknowledge([seq for seq, _ in sent])  # what the worker does once the broker has them
            facts += [(value, key) for _, (topic, key, value, _h) in sent if topic == linkage_facts.TOPIC.name]
            CHILDREN.extend(value for _, (topic, _k, value, _h) in sent if topic == linkage_children.TOPIC.name)
        store.engine.dispose()
    return facts


def run_scoring(facts: list[tuple[bytes, bytes | None]], today: date) -> int:
    rulebook, store = load_rulebook(ScoringSettings().config_path), ChangelogStore()
    WORKING._states.clear()  # a fresh process: nothing kept parsed from an earlier repeat
    published = 0
    FLAGS.clear()
    for value, key in facts:
        event_id, fact = decode_fact(value, key)
        _, out = handle_fact(fact, event_id=event_id, partition=0, store=store, rulebook=rulebook, today=today)
        if out is not None:
            FLAGS.append(out.value)  # the worker serialises every published message
            published += 1
    return published


def run_casework() -> int:
    """Profiles, then flags, through the worker's handlers in batches of its size (SQLite in a temp dir)."""
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("TSUNAGU_CASEWORK_SESSION_SECRET", "stage-cpu-benchmark-" + "x" * 32)
        settings = CaseworkSettings(database_url=f"sqlite:///{tmp}/casework.db")
        handlers = WorkerHandlers(bootstrap_casework(settings))
        alerts = 0
        for kind, values in (("profile", CHILDREN), ("flags", FLAGS)):
            for start in range(0, len(values), settings.batch_max):
                batch = [(v, f"{kind}@{start + i}") for i, v in enumerate(values[start:start + settings.batch_max])]
                alerts += sum(len(p.alert_ids) for p in handlers.process_batch(kind, batch))
        handlers.c.engine.dispose()
    return alerts


def timed(fn: Callable[[], Any], repeat: int, profile: Path | None) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = fn()
        best = min(best, time.process_time() - started)
    if profile is not None:
        prof = cProfile.Profile(time.process_time)
        prof.runcall(fn)
        prof.dump_stats(profile)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2025-08-01")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", choices=("ingest", "linkage", "scoring", "casework"))
    args = parser.parse_args()
    messages = city(args.scale, args.days, args.seed)
    n = len(messages)
    stages = ("ingest", "linkage", "scoring", "casework")
    prof = {s: ROOT / "var" / f"stage-{s}.prof" if args.profile == s else None for s in stages}
    cpu_i, records = timed(lambda: run_ingest(messages), args.repeat, prof["ingest"])
    cpu_l, facts = timed(lambda: run_linkage(records), args.repeat, prof["linkage"])
    cpu_s, published = timed(lambda: run_scoring(facts, date.fromisoformat(args.today)), args.repeat, prof["scoring"])
    cpu_c, alerts = timed(run_casework, args.repeat, prof["casework"])
    print(f"{n:,} source events → {len(records):,} records → {len(facts):,} facts and {len(CHILDREN):,} profiles → "
          f"{published:,} flags messages → {alerts:,} alerts")
    print(f"CPU ms per source event (best of {args.repeat}, time.process_time): ingest {1e3 * cpu_i / n:.3f}, "
          f"linkage {1e3 * cpu_l / n:.3f}, scoring {1e3 * cpu_s / n:.3f}, casework {1e3 * cpu_c / n:.3f}; "
          f"sum {1e3 * (cpu_i + cpu_l + cpu_s + cpu_c) / n:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
