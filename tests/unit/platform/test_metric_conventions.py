"""Metric names and labels follow Prometheus conventions (`promtool check metrics`), the lag exporter sums right,
and every source system has an expected cadence for the silent-source alert."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from contracts.sources import SOURCE_SYSTEMS
from contracts.sources.cadence import SILENCE_ALLOWED_S

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "deploy"))

from lag_exporter import LagCollector, Snapshot, summarise  # noqa: E402

pytestmark = pytest.mark.unit


def promtool_check(text: bytes) -> str:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (deploy/setup-system.sh)")
    result = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, timeout=60)
    return (result.stdout + result.stderr).decode()


def registries() -> dict[str, bytes]:
    from services.casework.metrics import CaseworkMetrics
    from services.ingest.metrics import IngestMetrics
    from services.linkage.metrics import LinkageMetrics
    from services.scoring.metrics import ScoringMetrics

    built = {}
    for name, factory in (("ingest", IngestMetrics), ("linkage", LinkageMetrics), ("scoring", ScoringMetrics),
                          ("casework", CaseworkMetrics)):
        registry = CollectorRegistry()
        factory(registry)
        built[name] = generate_latest(registry)
    return built


@pytest.mark.parametrize("service", ["ingest", "linkage", "scoring", "casework"])
def test_each_services_metrics_pass_promtool(service: str) -> None:
    text = registries()[service]
    assert f"tsunagu_{service}_".encode() in text
    assert promtool_check(text) == ""


class FakeReader:
    def __init__(self, snapshot: Snapshot | None) -> None:
        self.snapshot = snapshot

    def read(self) -> Snapshot:
        if self.snapshot is None:
            raise ConnectionError("broker down")
        return self.snapshot


def test_lag_is_end_minus_committed_summed_per_group_and_topic() -> None:
    ends = {("t", 0): 10, ("t", 1): 5, ("u", 0): 3}
    committed = {"g": {("t", 0): 7, ("t", 1): 5, ("u", 0): 9}, "h": {("t", 0): -1}}
    snap = summarise(committed, ends, {("t", 0): 1_700_000_000_000, ("t", 1): -1})
    assert snap.lag == {("g", "t"): 3, ("g", "u"): 0}
    assert snap.end_offsets == {"t": 15, "u": 3}
    assert snap.last_timestamp == {"t": 1_700_000_000.0}


def test_the_lag_exporters_output_passes_promtool_and_says_when_it_is_blind() -> None:
    registry = CollectorRegistry()
    registry.register(LagCollector(FakeReader(summarise({"g": {("t", 0): 1}}, {("t", 0): 4}, {("t", 0): 1000}))))
    text = generate_latest(registry)
    assert b'tsunagu_kafka_consumer_lag_messages{group="g",topic="t"} 3.0' in text
    assert b"tsunagu_kafka_exporter_up 1.0" in text
    assert promtool_check(text) == ""
    blind = CollectorRegistry()
    blind.register(LagCollector(FakeReader(None)))
    text = generate_latest(blind)
    assert b"tsunagu_kafka_exporter_up 0.0" in text and b"consumer_lag" not in text


def test_every_source_system_has_an_expected_cadence() -> None:
    text = (ROOT / "deploy" / "prometheus" / "source_cadence.yml").read_text("utf-8")
    configured = dict(re.findall(r"labels: \{system: (\w+), topic: ([\w.-]+)\}", text))
    assert configured == {s.system: s.topic for s in SOURCE_SYSTEMS.values()}


def test_the_alert_and_the_ward_ui_use_the_same_cadence() -> None:
    """contracts.sources.cadence is the one definition; the Prometheus rules are its rendering (issue 17)."""
    text = (ROOT / "deploy" / "prometheus" / "source_cadence.yml").read_text("utf-8")
    rendered = {system: int(seconds) for seconds, system in
                re.findall(r"expr: vector\((\d+)\)\n\s+labels: \{system: (\w+),", text)}
    assert rendered == SILENCE_ALLOWED_S
