"""Linkage settings (environment prefix ``TSUNAGU_LINKAGE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from contracts.kafka_batches import WorkerPrioritySettings
from contracts.kafka_security import KafkaSecuritySettings
from contracts.topics.ingest_records import TOPIC as RECORDS_TOPIC
from contracts.topics.linkage_review import DECISION_TOPIC


class LinkageSettings(KafkaSecuritySettings, WorkerPrioritySettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_LINKAGE_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    app_id: str = Field("tsunagu-linkage", description="The worker's consumer group (and client id prefix)")
    data_dir: Path = Path("var/linkage")
    metrics_port: int = 9102
    log_level: str = Field("info", pattern="^(crit|error|warn|info|debug)$")
    batch_size: int = Field(500, ge=1, description="records handled per transaction")
    batch_window_s: float = Field(0.1, gt=0, description="longest wait to fill a batch")
    time_order: bool = Field(True, description="Hand the input partitions' records over oldest first by their "
                             "Kafka timestamps, not one partition in turn (docs/scaling.md, Time order)")
    time_order_idle_s: float = Field(0.5, ge=0, description="Longest a partition known to have records not yet "
                                     "fetched holds the others back")
    fact_cache: int = Field(20_000, ge=0, description="source facts kept in memory between batches (the rest: SQLite)")
    sqlite_cache_mib: int = Field(16, ge=1, description="SQLite's page cache for the state's connection")
    sqlite_cache_max_mib: int = Field(96, ge=1, description="the page cache grows with the database, to 1/64 of its "
                                      "size, up to this (no growth when not above SQLITE_CACHE_MIB)")
    sqlite_checkpoint_s: float = Field(1.0, ge=0, description="WAL checkpoints on a thread of their own every this "
                                       "many seconds (0: in the batches' COMMIT, SQLite's automatic checkpoint)")
    sqlite_write_behind: bool = Field(True, description="each batch's transaction written by a thread of its own "
                                      "while the next batch is matched, its messages sent once it is committed "
                                      "(docs/linkage.md, Write-behind)")
    link_probability: float = Field(0.97, gt=0, lt=1, description="auto-link at or above")
    new_probability: float = Field(0.05, gt=0, lt=1, description="new identity below; review in between")
    margin_bits: float = Field(6.0, ge=0, description="best candidate's lead over the runner-up to auto-link")
    source_uri: str = "/tsunagu/linkage"
    progress_interval_s: float = Field(
        2.0, ge=0, description="While working through a backlog, a progress report to every partition of "
                               "linkage.facts.v1 this often, facts or not (scoring holds assessments back until a "
                               "backlog is through: docs/linkage.md, Progress reports); 0: none")
    progress_after_s: float = Field(
        30.0, gt=0, description="A record whose source event reached Tsunagu longer ago than this is part of a "
                                "backlog (progress reports are written only then)")
    records_topic: str = Field(RECORDS_TOPIC.name, description="input records (another name only for replays)")
    decisions_topic: str = Field(DECISION_TOPIC.name, description="review decisions in")
    kafka_session_timeout_s: float = Field(
        15.0, ge=6, le=300, description="A worker killed without leaving its group is replaced after this long "
                                        "(Faust's default 60 s; the broker refuses < 6 s)")
    kafka_group_instance_id: str | None = Field(
        None, description="Static group membership (KIP-345): a worker restarted with the same id gets its "
                          "partitions back at once, without waiting for the session timeout. One id per instance; "
                          "an instance that stops for good holds its partitions until the session times out")
    kafka_retry_max_s: float = Field(30.0, gt=0, description="Longest wait between attempts to reach the broker "
                                                              "at start-up")

    fact_retention_years: dict[str, int] = Field(
        default_factory=dict, description="Retention per source-fact kind, in years after the fact ended (or after "
        "its day, for kinds without an end): facts past it are purged from linkage's store (JSON, e.g. "
        "'{\"infant_checkup\": 10}'). At least the longest window of scoring's rule file over the kind; empty: "
        "nothing is purged (docs/privacy.md)")
    person_retention_years: int = Field(
        0, ge=0, description="A child who left the city (転出), or turned 18, this many years ago, and is nobody's "
        "mother and no member of a household with a resident child, is purged from linkage (no deny-list: a return "
        "creates them afresh); "
        "its profile is tombstoned and scoring forgets it. 0: kept (the default until the city confirms the "
        "proposed 5 years; docs/privacy.md)")
    review_retention_days: int = Field(
        1826, ge=0, description="A decided and applied clerical review (it holds the record's name, kana, birth date "
        "and address) is purged this many days after its decision: casework's period for decided review cases "
        "(default 5 years); at least 90 (ingest.records.v1 keeps records 90 days, and a replayed record must meet its "
        "decision); 0: kept (docs/privacy.md)")
    retention_purge_interval_s: float = Field(86400.0, gt=0, description="How often the worker runs the purge "
                                              "(first run a minute after start)")
    retention_purge_slice: int = Field(2_000, ge=1, description="source facts the purge reads per step; batches "
                                       "run between steps (docs/linkage.md, Retention)")

    @field_validator("review_retention_days")
    @classmethod
    def _after_replays(cls, value: int) -> int:
        if 0 < value < 90:
            raise ValueError("TSUNAGU_LINKAGE_REVIEW_RETENTION_DAYS: 0 (kept) or at least 90 (records are replayable "
                             "for 90 days)")
        return value

    @field_validator("fact_retention_years")
    @classmethod
    def _known_kinds(cls, value: dict[str, int]) -> dict[str, int]:
        from services.linkage.domain.retention import PURGEABLE_KINDS

        unknown = sorted(set(value) - PURGEABLE_KINDS)
        if unknown:
            raise ValueError(f"TSUNAGU_LINKAGE_FACT_RETENTION_YEARS: kinds that cannot be purged or do not exist: "
                             f"{unknown}")
        if any(years < 1 for years in value.values()):
            raise ValueError("TSUNAGU_LINKAGE_FACT_RETENTION_YEARS: periods are whole years, at least 1")
        return value

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'linkage.db'}"
