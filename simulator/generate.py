"""``generate``: builds the city, routes its events to the chosen sinks, and writes the truth beside them."""

from __future__ import annotations

import json
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from tqdm import tqdm

from contracts.sources import SOURCE_SYSTEMS
from simulator.city import City
from simulator.life.engine import SimConfig
from simulator.replay import Route, replay
from simulator.sinks.base import SendReport, Sink
from simulator.sinks.school_csv import SCHOOL_SYSTEMS


@dataclass(frozen=True)
class GenerateOptions:
    seed: int = 1
    scale: float = 0.01
    start: date = date(2025, 4, 1)
    days: int = 365
    noise: float = 1.0
    out: Path | None = None
    bootstrap: str | None = None
    http: str | None = None
    http_systems: frozenset[str] | None = None
    http_tokens: Path | None = None
    school_csv: Path | None = None
    encoding: str = "cp932"
    truth: Path | None = None
    speedup: float = 0.0
    progress: bool = True
    kafka_client: str = "batch"  # batch (aiokafka's C batch builder, for load) or kafka-python


def build_routes(o: GenerateOptions) -> list[Route]:
    routes: list[Route] = []
    everything = frozenset(SOURCE_SYSTEMS)
    others = everything - SCHOOL_SYSTEMS if o.school_csv else everything
    if o.school_csv:
        from simulator.sinks.school_csv import SchoolCsvSink
        routes.append(Route(f"school media {o.school_csv} ({o.encoding})", SchoolCsvSink(o.school_csv, o.encoding),
                            SCHOOL_SYSTEMS))
    over_http = (o.http_systems or others) if o.http else frozenset()
    if o.http:
        from simulator.sinks.http import HttpSink, load_tokens
        routes.append(Route(f"HTTP intake {o.http}", HttpSink(o.http, tokens=load_tokens(o.http_tokens)),
                            others & over_http))
    if o.bootstrap:
        kafka: Sink
        if o.kafka_client == "kafka-python":
            from simulator.sinks.kafka import KafkaSink
            kafka = KafkaSink(o.bootstrap)
        else:
            from simulator.sinks.kafka_batch import KafkaBatchSink
            kafka = KafkaBatchSink(o.bootstrap)
        routes.append(Route(f"Kafka {o.bootstrap}", kafka, others - over_http))
    if o.out:
        from simulator.sinks.jsonl import JsonlSink
        routes.append(Route(f"file {o.out}", JsonlSink(o.out), others))
    return routes


def run_generate(o: GenerateOptions) -> dict[str, SendReport]:
    config = SimConfig(seed=o.seed, scale=o.scale, start=o.start, days=o.days, noise_level=o.noise)
    with ExitStack() as stack:
        records = None
        if o.truth:
            o.truth.mkdir(parents=True, exist_ok=True)
            records = stack.enter_context((o.truth / "records.jsonl").open("w", encoding="utf-8"))
        routes = build_routes(o)  # first: an unreachable broker fails before the city is built
        city = City(config, record_truth=records)
        bar = stack.enter_context(tqdm(unit=" events", disable=not o.progress, mininterval=1.0))
        reports = replay(city.events(), routes, o.speedup, progress=bar.update)
    if o.truth:
        counts = city.write_truth(o.truth)
        log = city.sim.noise.log
        noise = [{"system": s, "kind": k, "chances": n, "applied": log.applied[(s, k)]}
                 for (s, k), n in sorted(log.chances.items())]
        (o.truth / "noise.json").write_text(json.dumps(noise, ensure_ascii=False, indent=1), encoding="utf-8")
        (o.truth / "config.json").write_text(json.dumps({
            "seed": o.seed, "scale": o.scale, "start": o.start.isoformat(), "days": o.days, "noise": o.noise,
            "run_id": config.run_id, "truth_rows": counts}, indent=1), encoding="utf-8")
    return reports
