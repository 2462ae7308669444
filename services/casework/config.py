"""Casework settings: one pydantic-settings class, env prefix ``TSUNAGU_CASEWORK_``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.kafka_security import KafkaSecuritySettings
from services.casework.domain.access import Role

MANDATORY_TOTP_ROLES = frozenset({Role.HQ_ADMIN.value, Role.PRIVACY_OFFICER.value})  # issue 13: at least these
DEFAULT_SESSION_SECRET = "development-only-change-me"  # noqa: S105 - refused outside development
# Secrets that appear in this repository (docs, compose, tests): never acceptable in production.
TRAINING_MARK = "training"  # the training deployment's database URL and app id must contain it
KNOWN_SECRETS = frozenset({DEFAULT_SESSION_SECRET, "t" * 32, "x" * 40, "change-me-change-me", "tsunagu-demo-2026"})


class CaseworkSettings(KafkaSecuritySettings):
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_CASEWORK_", extra="ignore", populate_by_name=True)

    # TSUNAGU_ENVIRONMENT is what deploy/run.sh and docker-compose.yml set for every service; the
    # service's own TSUNAGU_CASEWORK_ENVIRONMENT wins when both are present.
    environment: Literal["development", "test", "production"] = Field(
        "development", validation_alias=AliasChoices("TSUNAGU_CASEWORK_ENVIRONMENT", "TSUNAGU_ENVIRONMENT"))
    training: bool = Field(
        False, description="研修モード: the synthetic training city only (deploy/training.sh). Every page carries the "
        "研修用・架空データ banner; refused in production; needs a database and an app id of its own (both "
        "must name 'training') so it can never read or write the live case database or consumer group")
    kafka_bootstrap: str = "127.0.0.1:9092"
    app_id: str = "tsunagu-casework"
    data_dir: Path = Path("var/casework")
    metrics_port: int = Field(9104, description="Prometheus port of the Faust worker")
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    database_url: str = "sqlite:///var/casework.db"
    session_secret: str = DEFAULT_SESSION_SECRET
    session_idle_timeout_s: int = Field(30 * 60, description="A session unused this long ends")
    session_absolute_timeout_s: int = Field(10 * 60 * 60, description="A session ends this long after login")
    cookie_secure: bool = Field(False, description="Set the Secure flag (behind TLS); always on in production")
    sse_poll_interval_s: float = Field(0.2, description="How often the web process looks for new alerts")
    sse_session_check_s: float = Field(
        2.0, description="How often an open live inbox re-checks its session (logout, deactivation, timeouts)")
    max_body_bytes: int = Field(1_048_576, description="Larger request bodies are refused with 413 unread")
    audit_anchor_path: Path | None = Field(
        None, description="Append-only file outside the database where the audit chain's head is published; "
        "required in production")
    totp_roles: list[str] = Field(
        default_factory=lambda: ["hq_admin", "privacy_officer"],
        description="Roles that must log in with a TOTP second factor")
    outbox_interval_s: float = Field(0.5, description="How often the worker publishes queued outcomes")
    held_gauge_interval_s: float = Field(
        60.0, gt=0, description="How often the worker counts held listings (区が未確定の対象者) for its gauges")
    # alert policy
    alert_items: list[int] = Field(
        default_factory=lambda: list(range(1, 20)),
        description="Items whose gain raises an alert even without a tier change (HQ narrows this to "
        "high-weight items such as 1, 2, 4-8, 14 once tiers carry the rest)",
    )
    alert_cooldown_days: int = Field(90, description="No new alert for the same child within this many days")
    topic_prefix: str = ""
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="Where a new consumer group starts; earliest so no flag is ever missed")
    batch_max: int = Field(200, description="Most input messages applied in one transaction")
    batch_window_s: float = Field(0.02, description="How long the worker waits to fill a batch")
    kafka_session_timeout_s: float = Field(
        30.0, ge=6, le=300, description="A worker killed without leaving its group is replaced after this long "
                                        "(Faust's default 60 s; the broker refuses < 6 s)")
    kafka_group_instance_id: str | None = Field(
        None, description="Static group membership (KIP-345): a worker restarted with the same id gets its "
                          "partitions back at once, without waiting for the session timeout. One id per instance; "
                          "an instance that stops for good holds its partitions until the session times out")
    kafka_retry_max_s: float = Field(30.0, gt=0, description="Longest wait between attempts to reach the broker "
                                                              "at start-up")

    @model_validator(mode="after")
    def _training_apart(self) -> CaseworkSettings:
        if not self.training:
            return self
        if self.production:
            raise ValueError("TSUNAGU_CASEWORK_TRAINING: training mode is refused in production (training accounts "
                             "and fictitious data must never exist there)")
        if TRAINING_MARK not in self.database_url.lower():
            raise ValueError("TSUNAGU_CASEWORK_TRAINING: training mode needs its own database; "
                             "TSUNAGU_CASEWORK_DATABASE_URL must name 'training' (e.g. sqlite:///var/training/casework.db)")
        if TRAINING_MARK not in self.app_id.lower():
            raise ValueError("TSUNAGU_CASEWORK_TRAINING: training mode needs its own consumer group; "
                             "TSUNAGU_CASEWORK_APP_ID must name 'training' (e.g. tsunagu-training-casework)")
        return self

    @model_validator(mode="after")
    def _totp_roles_known(self) -> CaseworkSettings:
        unknown = set(self.totp_roles) - {r.value for r in Role}
        if unknown:  # a typo would silently switch the second factor off
            raise ValueError(f"TSUNAGU_CASEWORK_TOTP_ROLES: unknown roles {sorted(unknown)}")
        if self.production and not MANDATORY_TOTP_ROLES <= set(self.totp_roles):
            raise ValueError("TSUNAGU_CASEWORK_TOTP_ROLES must include hq_admin and privacy_officer in production")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> CaseworkSettings:
        if self.environment != "development" and self.session_secret == DEFAULT_SESSION_SECRET:
            raise ValueError("TSUNAGU_CASEWORK_SESSION_SECRET must be set outside development")
        if len(self.session_secret) < 16:
            raise ValueError("TSUNAGU_CASEWORK_SESSION_SECRET must be at least 16 characters")
        if self.production:
            if self.session_secret in KNOWN_SECRETS or len(set(self.session_secret)) < 8 or \
                    len(self.session_secret) < 32:
                raise ValueError("TSUNAGU_CASEWORK_SESSION_SECRET: production needs a random secret of at least "
                                 "32 characters, not one from the repository")
            if self.audit_anchor_path is None:
                raise ValueError("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH must be set in production")
        return self

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        """Secure and __Host- cookies: always in production (TLS is mandatory there), else on request."""
        return self.cookie_secure or self.production

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
