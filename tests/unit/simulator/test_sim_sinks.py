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
from simulator.sinks.school_csv import KIND_OF_TYPE, LAYOUTS, SCHOOL_SYSTEMS, SURVEY_JA, SchoolCsvSink
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
    division_type = {division: t for t, (_, division) in KIND_OF_TYPE.items() if division}
    for path in sink.files:
        day, kind = path.stem.split("_")
        date.fromisoformat(day)
        with path.open(encoding="utf-8-sig" if encoding == "utf-8" else "cp932", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            assert header == [h for h, _ in LAYOUTS[kind]]
            for row in reader:
                data = {field: v for (_, field), v in zip(LAYOUTS[kind], row, strict=True) if v != ""}
                event_type = next(t for t, (k, _) in KIND_OF_TYPE.items() if k == kind)
                if kind == "児童生徒":
                    event_type = division_type[data.pop("区分")]
                if kind == "調査":
                    data["survey"] = {v: k for k, v in SURVEY_JA.items()}[data["survey"]]
                system = event_type.split(".")[0]
                SOURCE_SYSTEMS[system].event_types[event_type].model_validate(data)
                rows += 1
    assert rows == len(events)
    if encoding == "cp932":
        raw = sink.files[0].read_bytes()
        assert b"\r\n" in raw and not raw.startswith(b"\xef\xbb\xbf")


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
        system = request.url.path.split("/")[3]
        expected = "s3cret-registry-token" if system == "resident_registry" else f"dev-{system}"
        assert request.headers["authorization"] == f"Bearer {expected}"
        return httpx.Response(422 if body["type"] == "public_assistance.case.started" else 202)

    sink = HttpSink(tokens={"resident_registry": "s3cret-registry-token"},
                    client=httpx.Client(base_url="http://intake", transport=httpx.MockTransport(handler)))
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
