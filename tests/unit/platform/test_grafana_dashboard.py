"""The Grafana dashboard (deploy/grafana, built with grafana-foundation-sdk) is the committed JSON, and shows the same
metrics as the console page Prometheus serves itself (deploy/prometheus/consoles/tsunagu.html)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from deploy.grafana import dashboard

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
CONSOLE = ROOT / "deploy/prometheus/consoles/tsunagu.html"
METRIC = re.compile(r"\b(?:tsunagu|kafka)_[a-z0-9_]*[a-z0-9]")
RECORDED = re.compile(r"\btsunagu:[a-z0-9_:]+")


TEMPLATES = {"tsunagu_head", "tsunagu_tail", "tsunagu_nodata"}  # the console library's own template names


def _metrics(text: str) -> set[str]:
    return {re.sub(r"_(bucket|count|sum)$", "", name) for name in METRIC.findall(text)} - TEMPLATES


def test_the_committed_json_is_what_the_code_builds() -> None:
    assert dashboard.main(["--check"]) == 0, "run: python -m deploy.grafana.dashboard"


def test_it_reads_the_same_metrics_as_the_console_page() -> None:
    grafana, console = dashboard.OUTPUT.read_text(encoding="utf-8"), CONSOLE.read_text(encoding="utf-8")
    assert _metrics(grafana) == _metrics(console)
    assert set(RECORDED.findall(grafana)) == set(RECORDED.findall(console))
    assert len(_metrics(grafana)) >= 20


def test_recorded_series_it_reads_are_defined_by_the_rules() -> None:
    defined = set()
    for path in (ROOT / "deploy/prometheus").glob("*.yml"):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups", []):
            defined |= {rule["record"] for rule in group["rules"] if "record" in rule}
    used = set(RECORDED.findall(dashboard.OUTPUT.read_text(encoding="utf-8")))
    assert used and used <= defined, used - defined


def test_every_query_asks_the_chosen_data_source_and_nothing_installation_specific() -> None:
    built = json.loads(dashboard.OUTPUT.read_text(encoding="utf-8"))
    targets = [t for panel in built["panels"] for t in panel.get("targets", [])]
    assert len(targets) >= 20
    assert all(t["datasource"] == {"type": "prometheus", "uid": "${datasource}"} for t in targets)
    assert [v["type"] for v in built["templating"]["list"]] == ["datasource"]
    titles = {panel["title"] for panel in built["panels"]}
    assert {"Consumer lag (messages)", "Freshness per source system", "Alerts raised per ward, last 24 h"} <= titles
