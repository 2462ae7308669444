"""``python -m simulator``: the smoke scenario, the synthetic city, and replay to Kafka, HTTP or files.

    python -m simulator smoke [--bootstrap HOST:PORT] [--ward 40131] [--out FILE.jsonl] [--http URL]
    python -m simulator generate [--seed 1] [--scale 0.01] [--start 2025-04-01] [--days 365] [--noise 1.0]
        [--out FILE.jsonl] [--bootstrap HOST:PORT] [--http URL [--http-systems a,b]]
        [--school-csv DIR [--encoding utf-8|cp932]] [--truth DIR] [--speedup 86400]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import httpx
from aiokafka.errors import KafkaError as AioKafkaError
from kafka.errors import KafkaError

from simulator.events import SourceEvent
from simulator.sinks.base import SendReport, Sink
from simulator.smoke import smoke_events
from simulator.wards import WARD_CODES


def _sinks(args: argparse.Namespace) -> list[tuple[str, Sink]]:
    sinks: list[tuple[str, Sink]] = []
    if args.out:
        from simulator.sinks.jsonl import JsonlSink
        sinks.append((f"file {args.out}", JsonlSink(Path(args.out))))
    if args.http:
        from simulator.sinks.http import HttpSink, load_tokens
        tokens = load_tokens(Path(args.http_tokens) if args.http_tokens else None)
        sinks.append((f"HTTP intake {args.http}", HttpSink(args.http, tokens=tokens)))
    if args.bootstrap or not sinks:
        from simulator.sinks.kafka import KafkaSink
        bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
        sinks.append((f"Kafka {bootstrap}", KafkaSink(bootstrap)))
    return sinks


def deliver(events: Iterable[SourceEvent], sinks: list[tuple[str, Sink]]) -> dict[str, SendReport]:
    for event in events:
        for _, sink in sinks:
            sink.send(event)
    return {label: sink.close() for label, sink in sinks}


def _print_reports(reports: dict[str, SendReport]) -> bool:
    ok = True
    for label, report in reports.items():
        print(f"sent to {label}:")
        print("\n".join(report.lines()))
        for reason in report.failures:
            print(f"  failure: {reason}", file=sys.stderr)
        ok = ok and not report.failed
    return ok


def _add_sink_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (default $KAFKA_BOOTSTRAP or 127.0.0.1:9092 "
                                            "when no other sink is chosen)")
    parser.add_argument("--out", help="write JSON Lines ({topic, key, value} per line) to this file")
    parser.add_argument("--http", help="POST each event to ingest's HTTP intake at this base URL, "
                                       "e.g. http://127.0.0.1:8001")
    parser.add_argument("--http-tokens", help="JSON file {system: bearer token} (default: dev-<system>)")


def _smoke(args: argparse.Namespace) -> int:
    today = date.fromisoformat(args.today) if args.today else date.today()
    events = smoke_events(today, args.ward)
    return 0 if _print_reports(deliver(events, _sinks(args))) else 1


def _generate(args: argparse.Namespace) -> int:
    from simulator.generate import GenerateOptions, run_generate
    options = GenerateOptions(
        seed=args.seed, scale=args.scale, start=date.fromisoformat(args.start), days=args.days, noise=args.noise,
        out=Path(args.out) if args.out else None, http=args.http,
        bootstrap=args.bootstrap or (None if args.out or args.http or args.school_csv
                                     else os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")),
        http_systems=frozenset(args.http_systems.split(",")) if args.http_systems else None,
        http_tokens=Path(args.http_tokens) if args.http_tokens else None,
        school_csv=Path(args.school_csv) if args.school_csv else None, encoding=args.encoding,
        truth=Path(args.truth) if args.truth else None, speedup=args.speedup, progress=not args.no_progress,
        kafka_client=args.kafka_client)
    reports = run_generate(options)
    return 0 if _print_reports(reports) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    smoke = sub.add_parser("smoke", help="a handful of synthetic families that trigger known items")
    _add_sink_args(smoke)
    smoke.add_argument("--ward", choices=WARD_CODES, help="put every family in this ward (default: spread)")
    smoke.add_argument("--today", help="ISO date the scenario is relative to (default: today)")
    smoke.set_defaults(func=_smoke)

    gen = sub.add_parser("generate", help="the synthetic city: a population and a period of life events")
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--scale", type=float, default=0.01, help="1.0 = Fukuoka (≈ 1.6 M residents)")
    gen.add_argument("--start", default="2025-04-01", help="day 0 (ISO date); the go-live load is stamped with it")
    gen.add_argument("--days", type=int, default=365)
    gen.add_argument("--noise", type=float, default=1.0, help="multiplies every noise rate (0 = clean)")
    _add_sink_args(gen)
    gen.add_argument("--http-systems", help="comma-separated systems sent over HTTP instead (default: all)")
    gen.add_argument("--school-csv", help="write the 校務系 systems as CSV media files into this directory")
    gen.add_argument("--encoding", choices=("utf-8", "cp932"), default="cp932", help="school CSV encoding")
    gen.add_argument("--truth", help="directory for the truth: records, flags per child, persons, noise")
    gen.add_argument("--speedup", type=float, default=0.0,
                     help="replay in event time this many times faster (86400 = a day a second; 0 = flat out)")
    gen.add_argument("--no-progress", action="store_true", help="no progress bar")
    gen.add_argument("--kafka-client", choices=("batch", "kafka-python"), default="batch",
                     help="batch: aiokafka's C batch builder (≥ 20 k events/s); kafka-python: one send per event")
    gen.set_defaults(func=_generate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except (KafkaError, AioKafkaError, httpx.TransportError, OSError) as exc:
        print(f"cannot deliver: {type(exc).__name__} (is the broker or intake running?)", file=sys.stderr)
        return 2
    return code
