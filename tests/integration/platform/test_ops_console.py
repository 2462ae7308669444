"""The operators' dashboard: Prometheus (Debian's) serves deploy/prometheus/consoles/tsunagu.html with the repo's
rules, scraping a small static target; headless Chromium renders it and every panel shows data."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
PROM = ROOT / "deploy" / "prometheus"
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "ops"
PANELS = ("e2e-latency", "throughput", "lag", "dead-letters", "freshness", "alerts-per-ward", "held-listings", "errors",
          "broker")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exposition(n: int) -> str:
    """Every series the dashboard reads, counters growing with each scrape ``n`` (the names the services use)."""
    now = time.time()
    lines = []
    for metric in ("tsunagu_ingest_source_to_ingest_seconds", "tsunagu_linkage_source_to_linkage_seconds",
                   "tsunagu_scoring_source_to_scoring_seconds", "tsunagu_casework_source_to_alert_committed_seconds",
                   "tsunagu_casework_alert_to_sse_sent_seconds"):
        lines += [f'{metric}_bucket{{le="0.1"}} {5 * n}', f'{metric}_bucket{{le="1.0"}} {9 * n}',
                  f'{metric}_bucket{{le="+Inf"}} {10 * n}', f"{metric}_count {10 * n}", f"{metric}_sum {3 * n}"]
    lines += [f'tsunagu_ingest_events_processed_total{{outcome="accepted"}} {20 * n}',
              f'tsunagu_linkage_records_processed_total{{outcome="linked"}} {15 * n}',
              f'tsunagu_scoring_facts_processed_total{{outcome="flags_changed"}} {7 * n}',
              f'tsunagu_casework_flags_processed_total{{outcome="alert_raised"}} {2 * n}',
              'tsunagu_kafka_consumer_lag_messages{group="tsunagu-scoring",topic="linkage.facts.v1"} 42',
              f'tsunagu_ingest_events_failed_total{{reason="invalid_data"}} {n}',
              f'tsunagu_ingest_source_deadletters_total{{system="school_affairs"}} {n}',
              f'tsunagu_ingest_source_last_event_timestamp_seconds{{system="resident_registry"}} {now - 120}',
              f'tsunagu_ingest_source_last_event_timestamp_seconds{{system="school_affairs"}} {now - 3 * 86400}',
              f'tsunagu_ingest_source_events_total{{system="resident_registry"}} {30 * n}',
              f'tsunagu_ingest_source_events_total{{system="school_affairs"}} {n}',
              f'tsunagu_casework_alerts_raised_total{{ward="40131"}} {n}',
              # the worker counts held listings; the web process exports the same gauges at 0 (job as scraped)
              'tsunagu_casework_listings_held{job="casework"} 2',
              'tsunagu_casework_listing_held_oldest_seconds{job="casework"} 400000',
              'tsunagu_casework_listings_held{job="casework-web"} 0',
              'tsunagu_casework_listing_held_oldest_seconds{job="casework-web"} 0',
              'kafka_server_replicamanager_underreplicatedpartitions 0',
              'kafka_controller_kafkacontroller_offlinepartitionscount 0',
              'kafka_controller_kafkacontroller_activecontrollercount 1',
              f"kafka_server_bytes_in_total {1000 * n}", f"kafka_server_bytes_out_total {2000 * n}",
              'kafka_log_log_size_bytes{topic="linkage.facts.v1",partition="0"} 123456',
              "tsunagu_kafka_exporter_up 1"]
    return "\n".join(lines) + "\n"


@pytest.fixture()
def target() -> Iterator[int]:
    scrapes = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            scrapes[0] += 1
            body = exposition(scrapes[0]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield port
    server.shutdown()


@pytest.fixture()
def prometheus(target: int, tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("Debian's prometheus is not installed (deploy/setup-system.sh)")
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(PROM / name) for name in ("rules.yml", "slo.yml", "source_cadence.yml")],
        "scrape_configs": [{"job_name": "static", "static_configs": [{"targets": [f"127.0.0.1:{target}"]}],
                            "honor_labels": True}],  # the held-listing series carry the job they come from
    }))
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", f"--web.console.templates={PROM / 'consoles'}",
         f"--web.console.libraries={PROM / 'console_libraries'}"],
        stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_data(base, "sum(rate(tsunagu_ingest_events_processed_total[1m])) > 0", timeout_s=60)
        wait_for_data(base, "tsunagu:source_silence_allowed:seconds", timeout_s=30)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for_data(base: str, expr: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            url = f"{base}/api/v1/query?query={urllib.parse.quote(expr)}"
            with urllib.request.urlopen(url, timeout=2) as response:
                if json.load(response)["data"]["result"]:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"Prometheus had no data for {expr} within {timeout_s} s")


def test_the_console_renders_every_panel_with_data(prometheus: str) -> None:
    from playwright.sync_api import sync_playwright

    with urllib.request.urlopen(f"{prometheus}/consoles/tsunagu.html", timeout=10) as response:
        assert response.status == 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.goto(f"{prometheus}/consoles/tsunagu.html")
            page.screenshot(path=str(ARTIFACTS / "tsunagu-console.png"), full_page=True)
            assert "Tsunagu" in page.title()
            for panel in PANELS:
                section = page.locator(f"section#{panel}")
                assert section.is_visible(), panel
                assert section.locator("td.nodata").count() == 0, f"{panel} shows no data"
                assert section.locator("td").count() >= 2, f"{panel} has no rows"
            freshness = page.locator("section#freshness").inner_text()
            assert "resident_registry" in freshness and "school_affairs" in freshness
            assert "35d" in freshness  # school_affairs' allowed silence from source_cadence.yml
            assert "source_to_alert_committed" in page.locator("section#e2e-latency").inner_text()
            assert "tsunagu-scoring" in page.locator("section#lag").inner_text()
            held = page.locator("section#held-listings")
            assert "4d 15h 6m 40s" in held.inner_text() and held.locator("span.bad").count() == 1
            assert held.locator("td.num").first.inner_text() == "2"
        finally:
            browser.close()
