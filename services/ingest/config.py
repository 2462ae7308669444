"""Ingest settings, from the environment (prefix ``TSUNAGU_INGEST_``). Built in bootstrap, passed down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.kafka_batches import WorkerPrioritySettings
from contracts.kafka_security import KafkaSecuritySettings

DEV_TOKEN_PREFIX = "dev-"  # noqa: S105 - a prefix that marks development tokens, refused in production


class IngestSettings(KafkaSecuritySettings, WorkerPrioritySettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_INGEST_", extra="ignore", populate_by_name=True)

    # TSUNAGU_ENVIRONMENT is what deploy/run.sh and docker-compose.yml set; TSUNAGU_INGEST_ENVIRONMENT wins.
    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("TSUNAGU_INGEST_ENVIRONMENT", "TSUNAGU_ENVIRONMENT"))
    kafka_bootstrap: str = "127.0.0.1:9092"
    app_id: str = Field("tsunagu-ingest", description="The worker's consumer group (and client id prefix)")
    data_dir: Path = Path("var/ingest")
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9101
    log_level: Literal["crit", "error", "warn", "info", "debug"] = "info"
    max_event_bytes: int = Field(1_048_576, description="Larger source events are dead-lettered as too_large")
    batch_max: int = Field(500, ge=1, description="Most source events per batch (one offset commit)")
    batch_window_s: float = Field(
        0.2, gt=0, description="How long the worker waits for records when none are there (how often an idle worker "
        "wakes; also the longest a stop waits for the reader); records that arrived are handed over at once")
    time_order: bool = Field(True, description="Hand the input partitions' records over oldest first by their "
                             "Kafka timestamps, not one partition in turn (docs/scaling.md, Time order)")
    time_order_idle_s: float = Field(0.5, ge=0, description="Longest a partition known to have records not yet "
                                     "fetched holds the others back")
    # Bounded (aiokafka's defaults are 50 MiB / 1 MiB): at scale 0.25 ingest's peak RSS ≈ 130 MiB lower, and at 0.05 the
    # whole pipeline ran 2 721/s against 2 609/s. Until linkage's result stopped depending on arrival order
    # (docs/linkage.md "Arrival order") they changed 13 children's final flags; now the children's final flags are
    # the same with both (pipeline_e2e at 0.05, compared child by child: docs/scaling.md "Arrival order, ninth pass").
    kafka_fetch_max_bytes: int = Field(
        4_194_304, ge=65_536, description="Most bytes one fetch brings, over all partitions (4 MiB; aiokafka's "
        "default is 50 MiB, which a backlog on 48 source partitions fills, all held as records at once)")
    kafka_partition_fetch_bytes: int = Field(
        262_144, ge=16_384, description="Most bytes one fetch brings per partition (256 KiB; aiokafka's default is "
        "1 MiB); a larger event still comes, alone")
    # The dead-letter topic must take the original bytes of any event the broker accepted (≤ 2 MiB).
    producer_max_request_bytes: int = 2_097_152
    http_host: str = "127.0.0.1"
    http_port: int = 8001
    http_tokens_file: Path | None = Field(
        None, description="JSON file {system: bearer token}; tokens are per source system")
    http_tokens: dict[str, SecretStr] = Field(
        default_factory=dict, description="Inline tokens (JSON in TSUNAGU_INGEST_HTTP_TOKENS); file wins")
    dedup_retention_days: int = 400
    progress_interval_s: float = Field(
        2.0, ge=0, description="While working through a backlog, a progress report to every partition of "
                               "ingest.records.v1 this often: how many source events are not handled yet, for "
                               "linkage to pass on to scoring (docs/ingest.md, Progress reports); 0: none")
    progress_after_s: float = Field(
        30.0, gt=0, description="A source event handed over longer ago than this is part of a backlog (progress "
                                "reports are written only then)")
    source_status_interval_s: float = Field(
        30.0, ge=1, le=3600, description="How often the worker reports freshness per source system "
                                         "(ingest.source_status.v1)")
    kafka_session_timeout_s: float = Field(
        15.0, ge=6, le=300, description="A worker killed without leaving its group is replaced after this long "
                                        "(Faust's default 60 s; the broker refuses < 6 s)")
    kafka_group_instance_id: str | None = Field(
        None, description="Static group membership (KIP-345): a worker restarted with the same id gets its "
                          "partitions back at once, without waiting for the session timeout. One id per instance; "
                          "an instance that stops for good holds its partitions until the session times out")
    kafka_retry_max_s: float = Field(30.0, gt=0, description="Longest wait between attempts to reach the broker "
                                                              "at start-up")

    @property
    def dedup_path(self) -> Path:
        return self.data_dir / f"dedup-{self.app_id}.sqlite3"

    def tokens(self) -> dict[str, str]:
        """Bearer token per system; the file (mounted secret) takes precedence over the environment."""
        tokens = {system: token.get_secret_value() for system, token in self.http_tokens.items()}
        if self.http_tokens_file is not None:
            loaded = json.loads(self.http_tokens_file.read_text(encoding="utf-8"))
            tokens.update({str(k): str(v) for k, v in loaded.items()})
        return tokens

    @model_validator(mode="after")
    def _no_dev_tokens_in_production(self) -> IngestSettings:
        if self.environment == "production":
            weak = [s for s, t in self.tokens().items() if t.startswith(DEV_TOKEN_PREFIX) or len(t) < 24]
            if weak:
                raise ValueError(f"development or short HTTP tokens in production for: {', '.join(sorted(weak))}")
        return self
