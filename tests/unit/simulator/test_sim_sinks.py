"""Sinks and replay: JSON Lines, school CSV media, the HTTP intake, routing and event-time pacing."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest

from contracts.sources import SOURCE_SYSTEMS
from simulator.events import SourceEvent
from simulator.generate import GenerateOptions, build_routes
from simulator.replay import Pacer, Route, replay
from simulator.sinks.http import HttpSink
from simulator.sinks.jsonl import JsonlSink, read_jsonl
from simulator.sinks.school_csv import SCHOOL_SYSTEMS, SchoolCsvSink
from simulator.smoke import smoke_events

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 27)


def school_events(noisy_run) -> list[SourceEvent]:
    return [e for e in noisy_run.events if e.system in SCHOOL_SYSTEMS][:3000]


@pytest.mark.parametrize("encoding", ["cp932", "utf-8"])
def test_school_csv_rows_read_back_into_the_contract(tmp_path: Path, noisy_run, encoding: str) -> None:
    sink = SchoolCsvSink(tmp_path, encoding)
    events = school_events(noisy_run)
    for e in events:
        sink.send(e)
    report = sink.close()
    assert report.total == len(events) and not report.failed
    rows = 0
    for path in sink.files:
        system, kind, day = path.stem.split("__")
        model = SOURCE_SYSTEMS[system].event_types[f"{system}.{kind}"]
        with path.open(encoding="utf-8-sig" if encoding == "utf-8" else "cp932", newline="") as f:
            assert f.readline().endswith("\r\n") if encoding == "cp932" else True
            f.seek(0)
            reader = csv.DictReader(f)
            assert reader.fieldnames == list(model.model_fields)
            for row in reader:
                model.model_validate({k: v for k, v in row.items() if v != ""})
                rows += 1
        assert len(day) == 8
    assert rows == len(events)


def test_school_csv_refuses_other_systems(tmp_path: Path) -> None:
    sink = SchoolCsvSink(tmp_path)
    registry = next(e for e in smoke_events(TODAY) if e.system == "resident_registry")
    sink.send(registry)
    assert sink.close().failed


def test_jsonl_round_trip(tmp_path: Path) -> None:
    sink = JsonlSink(tmp_path / "out.jsonl")
    events = smoke_events(TODAY)
    for e in events:
        sink.send(e)
    sink.close()
    lines = read_jsonl(tmp_path / "out.jsonl")
    assert [(x["topic"], x["key"], x["value"]["id"]) for x in lines] == [(e.topic, e.key, e.event_id) for e in events]


def test_http_sink_posts_each_envelope_to_its_system() -> None:
    seen: list[tuple[str, dict]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append((request.url.path, body))
        return httpx.Response(422 if body["type"] == "public_assistance.case.started" else 202)

    sink = HttpSink(client=httpx.Client(base_url="http://intake", transport=httpx.MockTransport(handler)))
    events = smoke_events(TODAY)
    for e in events:
        sink.send(e)
    report = sink.close()
    assert [p for p, _ in seen] == [f"/v1/sources/{e.system}/events" for e in events]
    assert report.failed["source.public-assistance.v1"] == 1
    assert report.total == len(events) - 1
    assert all("山本" not in f for f in report.failures)


def test_routes_send_school_systems_to_media_only(tmp_path: Path) -> None:
    routes = build_routes(GenerateOptions(out=tmp_path / "e.jsonl", school_csv=tmp_path / "media"))
    media, file_ = routes
    assert media.systems == SCHOOL_SYSTEMS and file_.systems is not None and not file_.systems & SCHOOL_SYSTEMS
    reports = replay(smoke_events(TODAY), routes)
    assert sum(reports[media.label].sent.values()) == sum(1 for e in smoke_events(TODAY) if e.system in SCHOOL_SYSTEMS)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pacer_keeps_event_time_at_the_speedup() -> None:
    clock = FakeClock()
    pacer = Pacer(3600, clock=clock, sleep=clock.sleep)
    first = smoke_events(TODAY)[0]
    for hours in (0, 1, 2, 2):
        pacer.wait_for(SourceEvent(first.system, first.type, "x", first.time + timedelta(hours=hours), "k", {}))
    assert clock.slept == [1.0, 1.0]


def test_flat_out_never_sleeps() -> None:
    clock = FakeClock()
    pacer = Pacer(0, clock=clock, sleep=clock.sleep)
    for e in smoke_events(TODAY):
        pacer.wait_for(e)
    assert clock.slept == []


def test_route_filter() -> None:
    assert Route("x", JsonlSink.__new__(JsonlSink), frozenset({"childcare"})).wants("childcare")
    assert not Route("x", JsonlSink.__new__(JsonlSink), frozenset({"childcare"})).wants("disability")
