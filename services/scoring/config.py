"""Scoring's settings (env prefix ``TSUNAGU_SCORING_``), built once in bootstrap and passed down."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from contracts.kafka_batches import WorkerPrioritySettings
from contracts.kafka_security import KafkaSecuritySettings

CONFIG_DIR = Path(__file__).resolve().parent / "config"
FUKUOKA_RULES = CONFIG_DIR / "fukuoka.toml"
GUIDELINE_ALL_RULES = CONFIG_DIR / "guideline-all.toml"


class ScoringSettings(KafkaSecuritySettings, WorkerPrioritySettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_SCORING_", extra="ignore", populate_by_name=True)

    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    app_id: str = Field("tsunagu-scoring", description="The consumer group, and the prefix of the state changelog "
                                                       "topic (<app_id>-child-state-changelog)")
    metrics_port: int = Field(9103, ge=0, le=65535, description="Prometheus exporter port (0: none)")
    config_path: Path = Field(FUKUOKA_RULES, description="The municipality's rule file (TOML)")
    # TSUNAGU_ENVIRONMENT is what deploy/run.sh and docker-compose.yml set for every service (as casework reads it)
    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("TSUNAGU_SCORING_ENVIRONMENT", "TSUNAGU_ENVIRONMENT"),
        description="production refuses to start with a rule file HQ has not adopted (docs/scoring.md)")
    today: date | None = Field(None, description="Fixed evaluation date for demos and tests; else the clock")
    publish_from: date | None = Field(
        None, description="Go-live: before this day facts are recorded but no flags are published (histories load "
                          "in any order); that day's first clock sweep publishes every child's settled assessment")
    absence_settle_seconds: float | None = Field(
        None, gt=0, description="Demonstrations: conclude an absence (items 3, 16) once a child has had no new fact "
                                "for this long, instead of at the next day's sweep")
    catch_up_after_s: float | None = Field(
        60.0, gt=0, description="A fact whose source event reached Tsunagu longer ago than this belongs to a backlog "
                                "(a replay, a recovery, a load read after the fact): the child's assessment is "
                                "recorded and published once the backlog is through, so an inbox gets the settled "
                                "assessment, not each step of a history arriving in some order (unset: off)")
    catch_up_quiet_s: float = Field(
        10.0, gt=0, description="The backlog is through when no such fact has come for this long and the facts "
                                "that were in the input then are read (the broker's end offsets); a longer pause "
                                "upstream still ends it early, so a release never concludes an absence")
    catch_up_max_hold_s: float = Field(
        300.0, gt=0, description="Longest a child's assessment is held while a backlog goes on: published then "
                                 "all the same (a pipeline that stays behind must not keep a flag from its ward), "
                                 "unless linkage reports its backlog shrinking (CATCH_UP_DRAIN_HOLD_S)")
    catch_up_drain_hold_s: float | None = Field(
        1800.0, gt=0, description="Longest a child's assessment is held while linkage reports the source events "
                                  "not through it yet fewer than 30 s before (a recovery being worked through, not a "
                                  "pipeline that stays behind): its history is then published once, settled, rather "
                                  "than in parts every CATCH_UP_MAX_HOLD_S (unset: CATCH_UP_MAX_HOLD_S always)")
    timezone: str = Field("Asia/Tokyo", description="Whose calendar decides what 'today' is")
    sweep_interval_seconds: float = Field(60.0, gt=0, description="How often the clock is checked for a new day")
    log_level: str = Field("info", pattern="^(crit|error|warn|info|debug)$")
    batch_max: int = Field(500, ge=1, description="Most facts handled before the worker yields")
    batch_window_s: float = Field(
        0.2, gt=0, description="How long the worker waits for records when none are there (how often an idle worker "
        "wakes; also the longest a stop waits for the reader); records that arrived are handed over at once")
    hot_children: int = Field(
        500, ge=0, description="Children whose state is kept decoded (with its parsed copy, ≈ 15–20 KB each); the "
                                 "others are kept as their compressed changelog message in a spill file on local "
                                 "disk (with their index: no memory each) and decoded when next used (adapters/"
                                 "changelog_store.py, docs/scoring.md \"Memory\")")
    gc_young_threshold: int = Field(
        50_000, ge=700, description="Python's cyclic garbage collector runs its youngest generation once this many "
                                    "more container objects were allocated than freed (Python's default: 700). The "
                                    "state's JSON and parsed facts hold no cycles and are replaced fact after fact; "
                                    "at 700 the collector's passes over them cost ≈ 30 % of the worker's CPU "
                                    "(docs/scoring.md, CPU)")
    restore_timeout_s: float = Field(
        600.0, gt=0, description="Longest time to load the state of newly assigned partitions from the changelog; "
                                 "past it the worker stops rather than score from a state half loaded")
    kafka_session_timeout_s: float = Field(
        15.0, ge=6, le=300, description="A worker killed without leaving its group is replaced after this long "
                                        "(the broker refuses < 6 s)")
    kafka_group_instance_id: str | None = Field(
        None, description="Static group membership (KIP-345): a worker restarted with the same id gets its "
                          "partitions back at once, without waiting for the session timeout. One id per instance; "
                          "an instance that stops for good holds its partitions until the session times out")
    kafka_retry_max_s: float = Field(30.0, gt=0, description="Longest wait between attempts to reach the broker "
                                                              "at start-up")
