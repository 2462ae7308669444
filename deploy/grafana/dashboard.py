"""The operators' dashboard as code, for cities that run Grafana: the same panels and the same expressions as the
Prometheus console page that needs no extra server (deploy/prometheus/consoles/tsunagu.html).

    python -m deploy.grafana.dashboard            # writes deploy/grafana/tsunagu.json
    python -m deploy.grafana.dashboard --check    # fails if the committed JSON is not what this code builds

Import the JSON in Grafana (Dashboards → New → Import) and pick the Prometheus data source that scrapes Tsunagu:
the dashboard asks for it through its ``datasource`` variable, so it carries no installation's data source id.
tests/unit/platform/test_grafana_dashboard.py checks that both dashboards read the same metrics.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DashboardCursorSync, DataSourceRef
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUTPUT = Path(__file__).with_name("tsunagu.json")
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

# (stage shown, histogram): source hand-over time → the stage, as the console's latency table
LATENCY = [
    ("ingest", "tsunagu_ingest_source_to_ingest_seconds"),
    ("linkage", "tsunagu_linkage_source_to_linkage_seconds"),
    ("scoring", "tsunagu_scoring_source_to_scoring_seconds"),
    ("alert committed", "tsunagu_casework_source_to_alert_committed_seconds"),
    ("shown in an open inbox", "tsunagu_casework_alert_to_sse_sent_seconds"),
]
THROUGHPUT = [
    ("ingest", "tsunagu_ingest_events_processed_total"),
    ("linkage", "tsunagu_linkage_records_processed_total"),
    ("scoring", "tsunagu_scoring_facts_processed_total"),
    ("casework", "tsunagu_casework_flags_processed_total"),
]
BROKER = [
    ("under-replicated partitions", "sum(kafka_server_replicamanager_underreplicatedpartitions)"),
    ("offline partitions", "sum(kafka_controller_kafkacontroller_offlinepartitionscount)"),
    ("active controllers", "sum(kafka_controller_kafkacontroller_activecontrollercount)"),
    ("bytes in /s", "sum(rate(kafka_server_bytes_in_total[5m]))"),
    ("bytes out /s", "sum(rate(kafka_server_bytes_out_total[5m]))"),
    ("log size, bytes", "sum(kafka_log_log_size_bytes)"),
    ("produce p99, s", 'max(kafka_network_request_total_time_seconds{request="Produce",percentile="99"})'),
    ("lag exporter up", "min(tsunagu_kafka_exporter_up)"),
]


def _query(expr: str, legend: str = "", ref: str = "A", instant: bool = False) -> prometheus.Dataquery:
    query = prometheus.Dataquery().expr(expr).ref_id(ref).datasource(DATASOURCE)
    if legend:
        query = query.legend_format(legend)
    return query.instant() if instant else query.range()


def _refs() -> list[str]:
    return [chr(ord("A") + n) for n in range(26)]


def _timeseries(title: str, unit: str, queries: list[prometheus.Dataquery], *, description: str = "",
                width: int = 12) -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).height(8).span(width)
    if description:
        panel = panel.description(description)
    for query in queries:
        panel = panel.with_target(query)
    return panel


def build() -> dict[str, object]:
    refs = iter(_refs())
    latency = [_query(f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket[5m])))",
                      f"{stage} p{int(float(q) * 100)}", next(refs))
               for stage, metric in LATENCY for q in ("0.5", "0.99")]
    refs = iter(_refs())
    throughput = [_query(f"sum by (outcome) (rate({metric}[5m]))", f"{stage} {{{{outcome}}}}", next(refs))
                  for stage, metric in THROUGHPUT]
    refs = iter(_refs())
    broker = stat.Panel().title("Broker").datasource(DATASOURCE).height(6).span(24).unit("short").description(
        "Appears when the JMX exporter (KAFKA_JMX_EXPORTER_PORT) and the lag exporter are scraped")
    for title, expr in BROKER:
        broker = broker.with_target(_query(expr, title, next(refs), instant=True))
    board = (
        dashboard.Dashboard("Tsunagu — the whole path")
        .uid("tsunagu-whole-path")
        .tags(["tsunagu"])
        .description("Source hand-over to the ward's inbox: latency per stage, throughput, lag, dead letters, "
                     "freshness per source system, alerts per ward, errors, the broker. The same panels as "
                     "Prometheus' console page /consoles/tsunagu.html.")
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_row(dashboard.Row("Latency and throughput"))
        .with_panel(_timeseries("End-to-end latency (source hand-over → stage), 5 min", "s", latency,
                                description="SLO: 99 % of alerts committed within 1 s (docs/runbook.md)"))
        .with_panel(stat.Panel().title("SLO errors now (alerts over 1 s, 5 min)").unit("percentunit")
                    .datasource(DATASOURCE).height(8).span(4)
                    .with_target(_query("tsunagu:alert_latency_slo_errors:ratio_rate5m", instant=True)))
        .with_panel(_timeseries("Throughput per stage (messages/s, 5 min)", "ops", throughput, width=8))
        .with_row(dashboard.Row("Backlog and bad input"))
        .with_panel(_timeseries("Consumer lag (messages)", "short", [
            _query("sort_desc(sum by (group, topic) (tsunagu_kafka_consumer_lag_messages))", "{{group}} {{topic}}")]))
        .with_panel(_timeseries("Dead letters, last 24 h", "short", [
            _query("sum by (reason) (increase(tsunagu_ingest_events_failed_total[1d]))", "reason {{reason}}"),
            _query("sum by (system) (increase(tsunagu_ingest_source_deadletters_total[1d]))", "source {{system}}",
                   "B")]))
        .with_row(dashboard.Row("Sources and wards"))
        .with_panel(table.Panel().title("Freshness per source system").datasource(DATASOURCE).height(9).span(12)
                    .description("Seconds since ingest last heard from each source, beside the silence its "
                                 "cadence allows (contracts/sources/cadence.py) and its events in 24 h")
                    .unit("s")
                    .with_target(_query("time() - max by (system) (tsunagu_ingest_source_last_event_timestamp_"
                                        "seconds > 0)", "last heard", "A", instant=True).format(PromQueryFormat.TABLE))
                    .with_target(_query("tsunagu:source_silence_allowed:seconds", "allowed silence", "B",
                                        instant=True).format(PromQueryFormat.TABLE))
                    .with_target(_query("sum by (system) (increase(tsunagu_ingest_source_events_total[1d]))",
                                        "events/24 h", "C", instant=True).format(PromQueryFormat.TABLE)))
        .with_panel(_timeseries("Alerts raised per ward, last 24 h", "short", [
            _query("sum by (ward) (increase(tsunagu_casework_alerts_raised_total[1d]))", "{{ward}}")]))
        .with_panel(stat.Panel().title("Held listings (no ward: in no inbox)").datasource(DATASOURCE).height(6)
                    .span(24).unit("short")
                    .description("Flagged children whose listing casework holds because no ward is known (区が未確定の"
                                 "対象者, HQ's page /held); the oldest hold's age alerts after 3 days "
                                 "(docs/runbook.md#listing-held)")
                    .with_target(_query('max(tsunagu_casework_listings_held{job="casework"})', "children held",
                                        "A", instant=True))
                    .with_target(_query('max(tsunagu_casework_listing_held_oldest_seconds{job="casework"}) / 86400',
                                        "oldest (days)", "B", instant=True)))
        .with_row(dashboard.Row("Errors and the broker"))
        .with_panel(_timeseries("Failures per service and reason (1 h)", "short", [
            _query('sum by (job, reason) (increase({__name__=~"tsunagu_.+_failed_total"}[1h]))',
                   "{{job}} {{reason}}"),
            _query("up == 0", "down: {{job}}", "B")]))
        .with_panel(table.Panel().title("Firing alerts").datasource(DATASOURCE).height(8).span(12)
                    .with_target(_query('ALERTS{alertstate="firing"}', "{{alertname}}", instant=True)
                                 .format(PromQueryFormat.TABLE)))
        .with_panel(broker)
    )
    built = board.build()
    return json.loads(JSONEncoder(sort_keys=True, indent=2).encode(built))


def render() -> str:
    return json.dumps(build(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deploy.grafana.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed JSON instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is not what deploy/grafana/dashboard.py builds: run python -m deploy.grafana.dashboard",
                  file=sys.stderr)
            return 1
        print(f"{OUTPUT}: up to date")
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
