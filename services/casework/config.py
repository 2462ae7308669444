"""Casework settings: one pydantic-settings class, env prefix ``TSUNAGU_CASEWORK_``."""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from contracts.kafka_batches import WorkerPrioritySettings
from contracts.kafka_security import KafkaSecuritySettings
from services.casework.domain.access import Role

MANDATORY_TOTP_ROLES = frozenset({Role.HQ_ADMIN.value, Role.PRIVACY_OFFICER.value})  # issue 13: at least these
DEFAULT_SESSION_SECRET = "development-only-change-me"  # noqa: S105 - refused outside development
# Secrets that appear in this repository (docs, compose, tests): never acceptable in production.
TRAINING_MARK = "training"  # the training deployment's database URL and app id must contain it
KNOWN_SECRETS = frozenset({DEFAULT_SESSION_SECRET, "t" * 32, "x" * 40, "change-me-change-me", "tsunagu-demo-2026"})
# What development and test encrypt TOTP secrets with when no key is set (bootstrap logs a warning saying so). It is
# public (it is right here), so production refuses it like every other key that appears in the repository.
DEVELOPMENT_TOTP_KEY = "dHN1bmFndS1kZXYtb25seS10b3RwLXNlY3JldC1rZXk"  # b64url of a 32-byte text
KNOWN_TOTP_KEYS = frozenset({DEVELOPMENT_TOTP_KEY})
TOTP_KEY_BYTES = 32  # AES-256-GCM
TOTP_KEY_MIN_DISTINCT_BYTES = 16  # 32 random bytes have ~ 28 distinct values; fewer than 16 is not random
# The municipality's rule file, scoring's (TSUNAGU_SCORING_CONFIG_PATH): HQ adopts its versions from here
DEFAULT_RULE_FILE = Path(__file__).resolve().parents[1] / "scoring" / "config" / "fukuoka.toml"


def decode_totp_key(text: str) -> bytes:
    """One key: 32 bytes, base64url (padding optional); what ``cli new-totp-key`` prints."""
    text = text.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("a TOTP key must be base64url (cli new-totp-key prints one)") from None
    if len(raw) != TOTP_KEY_BYTES:
        raise ValueError(f"a TOTP key must be {TOTP_KEY_BYTES} bytes (base64url, 43 characters); "
                         "cli new-totp-key prints one")
    return raw


def parse_totp_keys(text: str) -> list[str]:
    """The keys of a key file or setting: one per line (or comma-separated), ``#`` comments and blank lines
    ignored. The first encrypts; the others only decrypt, until ``rotate-totp-key`` has moved every secret."""
    keys: list[str] = []
    for line in text.splitlines():
        for key in line.split("#", 1)[0].split(","):
            if key.strip():
                decode_totp_key(key)  # malformed keys are refused in every environment
                keys.append(key.strip())
    return keys


class CaseworkSettings(KafkaSecuritySettings, WorkerPrioritySettings):
    # hide_input_in_errors: a refused setting must not print the others (the session secret, the TOTP keys) in the
    # start-up error that lands in the process log.
    model_config = SettingsConfigDict(env_prefix="TSUNAGU_CASEWORK_", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)

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
    extract_dir: Path = Field(
        Path("var/casework/extracts"), description="Where masked extracts made from the HQ page are written (one "
        "sub-directory each) and downloaded from; put it on the city's encrypted storage (docs/privacy.md)")
    metrics_port: int = Field(9104, description="Prometheus port of the worker (127.0.0.1)")
    log_level: Literal["crit", "error", "warn", "info", "debug"] = Field("info", description="The worker's log level")
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
    totp_key: SecretStr | None = Field(
        None, description="Key(s) that encrypt TOTP secrets in the database (AES-256-GCM; base64url of 32 random "
        "bytes, first encrypts, others only decrypt); prefer TOTP_KEY_FILE. Required in production")
    totp_key_file: Path | None = Field(
        None, description="File holding the TOTP key(s), one per line, the current one first (a mounted secret)")
    totp_accept_plaintext: bool = Field(
        True, description="Accept a TOTP secret stored unencrypted before encryption existed (it is re-encrypted at "
        "the next login); switch off once rotate-totp-key reports none left, so nobody who can write the database "
        "can plant a secret of their own")
    totp_roles: list[str] = Field(
        default_factory=lambda: ["hq_admin", "privacy_officer"],
        description="Roles that must log in with a TOTP second factor")
    rule_file: Path = Field(DEFAULT_RULE_FILE, description="The rule file scoring runs (its TSUNAGU_SCORING_"
                            "CONFIG_PATH): `cli rules-adopt` records its adoption beside it (docs/scoring.md)")
    outbox_interval_s: float = Field(0.5, description="How often the worker publishes queued outcomes")
    # Retention (docs/privacy.md "Retention in casework"; service_layer/retention.py)
    closed_case_retention_days: int = Field(
        1826, ge=90, description="A closed (終結) or transferred (移管) case, with its timeline, and a decided review "
        "case are removed this many days after their last change: the city's 文書保存年限 (default 5 years; at least "
        "the alert cool-down, 90 days). Open cases are never removed")
    outbox_retention_days: int = Field(
        30, ge=1, description="Published outbox rows are removed this many days after publication (the topic holds "
        "the event until its own retention); unpublished rows are never removed")
    retention_purge_interval_s: float = Field(
        86400.0, gt=0, description="How often the worker runs the retention purge (first run a minute after start)")
    retention_purge_enabled: bool = Field(True, description="Run the retention purge in the worker")
    disclosure_reply_wait_minutes: int = Field(
        60, ge=1, description="開示: how long linkage and scoring are given to answer a disclosure request; after "
        "that the request page and the report name the part that is missing (docs/privacy.md)")
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
    batch_max: int = Field(200, gt=0, description="Most input messages applied in one transaction")
    batch_window_s: float = Field(
        0.2, gt=0, description="How long the worker waits for records when none are there (how often an idle worker "
        "wakes; also the longest a stop waits for the reader); records that arrived are handed over at once")
    batch_linger_s: float = Field(
        0.1, ge=0, le=1.0, description="After a fetch that brought fewer than BATCH_MAX records, what arrives within "
        "this long joins the batch: as flags trickle in during a drain, batches of tens instead of a few messages "
        "(the worker's cost is mostly per batch: a transaction, an offset commit, a relay round; docs/scaling.md). "
        "At most this much is added to a flag's way to an alert; 0: off")
    gc_young_threshold: int = Field(
        20_000, ge=700, description="The worker's cyclic garbage collector runs its youngest generation once this many "
        "more container objects were allocated than freed (Python's default: 700). A batch's rows, dicts and "
        "decoded messages hold no cycles and die with the batch; at 700 the collector's passes over them took "
        "≈ 19 % of the worker's CPU in a drain (docs/scaling.md)")
    kafka_session_timeout_s: float = Field(
        15.0, ge=6, le=300, description="A worker killed without leaving its group is replaced after this long "
                                        "(the broker refuses < 6 s)")
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

    @model_validator(mode="after")
    def _totp_key(self) -> CaseworkSettings:
        if self.totp_key is not None and self.totp_key_file is not None:
            raise ValueError("set TSUNAGU_CASEWORK_TOTP_KEY_FILE or TSUNAGU_CASEWORK_TOTP_KEY, not both")
        keys = self.configured_totp_keys()  # reads the file: a missing or malformed one fails at start-up
        if self.production:
            if not keys:
                raise ValueError("TSUNAGU_CASEWORK_TOTP_KEY_FILE (or TSUNAGU_CASEWORK_TOTP_KEY) must be set in "
                                 "production: the key that encrypts TOTP secrets, kept outside the database")
            for key in keys:
                raw = decode_totp_key(key)
                if raw in {decode_totp_key(k) for k in KNOWN_TOTP_KEYS} or \
                        len(set(raw)) < TOTP_KEY_MIN_DISTINCT_BYTES:
                    raise ValueError("TSUNAGU_CASEWORK_TOTP_KEY: production needs random keys (cli new-totp-key), "
                                     "not the development key or a weak one")
        return self

    def configured_totp_keys(self) -> list[str]:
        """The TOTP keys set for this deployment, current first; [] when none is set."""
        if self.totp_key_file is not None:
            try:
                text = self.totp_key_file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"TSUNAGU_CASEWORK_TOTP_KEY_FILE cannot be read ({exc.strerror})") from None
            keys = parse_totp_keys(text)
            if not keys:
                raise ValueError("TSUNAGU_CASEWORK_TOTP_KEY_FILE holds no key")
            return keys
        if self.totp_key is not None:
            return parse_totp_keys(self.totp_key.get_secret_value())
        return []

    def totp_keys(self) -> list[bytes]:
        """The keyring TOTP secrets are sealed with: the configured keys, or outside production the public
        DEVELOPMENT_TOTP_KEY (``totp_key_is_development``; bootstrap logs a warning)."""
        keys = self.configured_totp_keys() or [DEVELOPMENT_TOTP_KEY]
        return [decode_totp_key(k) for k in keys]

    @property
    def totp_key_is_development(self) -> bool:
        return not self.configured_totp_keys()

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def secure_cookies(self) -> bool:
        """Secure and __Host- cookies: always in production (TLS is mandatory there), else on request."""
        return self.cookie_secure or self.production

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"
