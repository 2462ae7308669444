"""How every Tsunagu Kafka client authenticates: PLAINTEXT (development only), SASL_PLAINTEXT or SASL_SSL with
SCRAM-SHA-512. One place, so Faust, aiokafka and kafka-python clients get the same options.

Services inherit :class:`KafkaSecuritySettings` into their settings (``TSUNAGU_<SERVICE>_KAFKA_SECURITY_PROTOCOL``,
``…_KAFKA_SASL_USERNAME``, ``…_KAFKA_SASL_PASSWORD`` or ``…_KAFKA_SASL_PASSWORD_FILE``, ``…_KAFKA_SSL_CAFILE``);
tools without settings classes (topics admin, simulator, lag exporter) read the same names under their own prefix
with :func:`options_from_env`. Passwords never appear in a repr, a log line or an error message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

MECHANISM = "SCRAM-SHA-512"
Protocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
PROTOCOLS: tuple[str, ...] = ("PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL")


def client_options(protocol: str, username: str | None, password: str | None,
                   cafile: str | Path | None = None) -> dict[str, Any]:
    """Keyword arguments for aiokafka and kafka-python clients (both take the same names)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Kafka security protocol must be one of {', '.join(PROTOCOLS)}")
    if protocol == "PLAINTEXT":
        return {"security_protocol": "PLAINTEXT"}
    if not username or not password:
        raise ValueError(f"Kafka {protocol} needs a SASL username and password")
    options: dict[str, Any] = {"security_protocol": protocol, "sasl_mechanism": MECHANISM,
                               "sasl_plain_username": username, "sasl_plain_password": password}
    if protocol == "SASL_SSL":
        options["ssl_context"] = ssl_context(cafile)
    return options


def ssl_context(cafile: str | Path | None) -> ssl.SSLContext:
    """Verifies the broker against the given CA (the locally generated one), else the system's."""
    return ssl.create_default_context(cafile=str(cafile) if cafile else None)


def options_from_env(prefix: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Client options from ``<prefix>KAFKA_SECURITY_PROTOCOL`` and friends (PLAINTEXT when unset)."""
    env = os.environ if environ is None else environ
    protocol = env.get(f"{prefix}KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    password = env.get(f"{prefix}KAFKA_SASL_PASSWORD")
    password_file = env.get(f"{prefix}KAFKA_SASL_PASSWORD_FILE")
    if password_file:
        password = Path(password_file).read_text(encoding="utf-8").strip()
    return client_options(protocol, env.get(f"{prefix}KAFKA_SASL_USERNAME"), password,
                          env.get(f"{prefix}KAFKA_SSL_CAFILE"))


class KafkaSecuritySettings(BaseSettings):
    """Mixed into each service's settings; the subclass's ``env_prefix`` applies to these fields too."""

    kafka_security_protocol: Protocol = Field(
        "PLAINTEXT", description="PLAINTEXT (development only, refused in production), SASL_PLAINTEXT or SASL_SSL")
    kafka_sasl_username: str | None = Field(None, description="This service's Kafka principal (SCRAM-SHA-512)")
    kafka_sasl_password: SecretStr | None = Field(None, description="Its password; prefer the _FILE setting")
    kafka_sasl_password_file: Path | None = Field(None, description="File holding the password (a mounted secret)")
    kafka_ssl_cafile: Path | None = Field(None, description="CA certificate that signed the broker's (SASL_SSL)")

    def kafka_password(self) -> str | None:
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text(encoding="utf-8").strip()
        return self.kafka_sasl_password.get_secret_value() if self.kafka_sasl_password else None

    def kafka_client_options(self) -> dict[str, Any]:
        """For AIOKafka*/Kafka* clients: ``KafkaProducer(bootstrap_servers=…, **settings.kafka_client_options())``."""
        self._refuse_plaintext_in_production()
        return client_options(self.kafka_security_protocol, self.kafka_sasl_username, self.kafka_password(),
                              self.kafka_ssl_cafile)

    def faust_broker_credentials(self) -> Any:
        """``faust.App(broker_credentials=…)``: None for PLAINTEXT, else SASL/SCRAM (over TLS for SASL_SSL)."""
        self._refuse_plaintext_in_production()
        if self.kafka_security_protocol == "PLAINTEXT":
            return None
        import faust

        return faust.SASLCredentials(
            username=self.kafka_sasl_username, password=self.kafka_password(), mechanism=MECHANISM,
            ssl_context=ssl_context(self.kafka_ssl_cafile) if self.kafka_security_protocol == "SASL_SSL" else None)

    def _refuse_plaintext_in_production(self) -> None:
        # Checked when a Kafka client is built, not when settings load: the casework web process and the
        # HTTP intake's tests build settings without ever talking to Kafka.
        environment = getattr(self, "environment", None) or os.environ.get("TSUNAGU_ENVIRONMENT", "development")
        if environment == "production" and self.kafka_security_protocol == "PLAINTEXT":
            raise ValueError("Kafka PLAINTEXT is refused in production: set …_KAFKA_SECURITY_PROTOCOL to "
                             "SASL_SSL (or SASL_PLAINTEXT on a host-local network) with a SASL username and password")

    @model_validator(mode="after")
    def _sasl_needs_credentials(self) -> KafkaSecuritySettings:
        if self.kafka_security_protocol != "PLAINTEXT":
            if not self.kafka_sasl_username:
                raise ValueError("…_KAFKA_SASL_USERNAME must be set for SASL")
            if self.kafka_sasl_password is None and self.kafka_sasl_password_file is None:
                raise ValueError("…_KAFKA_SASL_PASSWORD or …_KAFKA_SASL_PASSWORD_FILE must be set for SASL")
        return self


def wait_for_broker(bootstrap: str, max_delay: float, options: dict[str, Any] | None = None, *,
                    logger: str = "tsunagu") -> None:
    """Blocks until the broker answers a metadata request, retrying with backoff (0.5 s, doubling up to
    ``max_delay``) instead of exiting when the worker starts before its broker; SIGTERM or Ctrl-C stop it.
    Every service's worker calls it before Faust starts (docs/kafka.md). Deliberately without a deadline: a
    service outlives a broker outage (issue 20); each attempt logs the broker address it is waiting for."""
    from aiokafka.errors import KafkaError

    log = logging.getLogger(logger)
    client_log = logging.getLogger("aiokafka")
    level, delay = client_log.level, 0.5
    client_log.setLevel(logging.CRITICAL)  # one line per attempt, ours, instead of the client's errors
    try:
        while True:
            try:
                asyncio.run(_bootstrap_once(bootstrap, options or {}))
                return
            except KafkaError as exc:
                log.warning("Kafka broker at %s not reachable (%s); retrying in %.1f s", bootstrap,
                            type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
    finally:
        client_log.setLevel(level)


async def _bootstrap_once(bootstrap: str, options: dict[str, Any]) -> None:
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **options)
    try:
        await client.bootstrap()
    finally:
        await client.close()
