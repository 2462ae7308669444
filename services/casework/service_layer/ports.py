"""What the use cases need from outside, declared here so the service layer never imports bootstrap (issue 12).

``bootstrap.Container`` satisfies these protocols structurally: the entrypoints build it and pass it in; a test can
pass anything with the same attributes. Read-only properties, so a narrower type (the whole settings object) fits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from services.casework.domain.alert_policy import AlertPolicy
from services.casework.domain.freshness import SourceHeard
from services.casework.domain.reports import ReportDocument, ReportInfo
from services.casework.metrics import CaseworkMetrics

if TYPE_CHECKING:
    from services.casework.service_layer.unit_of_work import AbstractUnitOfWork

Clock = Callable[[], datetime]


class TopicNames(Protocol):
    def topic(self, name: str) -> str:
        """The full topic name for a contract's topic (with the deployment's prefix)."""
        ...

    @property
    def disclosure_reply_wait_minutes(self) -> int:
        """開示: how long linkage and scoring are given to answer a disclosure request."""
        ...


class Stores(Protocol):
    """The database and the time: enough for the privacy requests that only read and write casework's tables."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def clock(self) -> Clock: ...


class SourceStatusStore(Protocol):
    """データの鮮度 per source system (adapters/source_status.py)."""

    def save(self, session: Session, heard: SourceHeard) -> None:
        """Keeps the newest report; the last event time never goes backwards (domain.freshness.merged)."""
        ...

    def load(self, session: Session) -> list[SourceHeard]: ...


class ReportStore(Protocol):
    """Evaluation's reports (adapters/report_store.py): stored once per report id, listed without their bytes."""

    def save(self, session: Session, document: ReportDocument, received_at: datetime) -> bool: ...

    def list(self, session: Session) -> list[ReportInfo]: ...

    def get(self, session: Session, report_id: str) -> ReportDocument | None: ...


class SecretUnreadable(Exception):
    """A sealed secret that cannot be opened: tampered with, sealed under a key this deployment no longer has, or
    for another record. The message names the reason and key id, never the secret."""


class SecretBox(Protocol):
    """Seals small secrets (users' TOTP secrets) for storage in the database under a key kept outside it
    (adapters/secret_box.py, AES-256-GCM). ``context`` (the user id) is authenticated with the value, so a sealed
    value copied onto another record does not open."""

    @property
    def current_key_id(self) -> str:
        """Names the key that seals now (for logs and the audit trail; not secret)."""
        ...

    def seal(self, plaintext: str, context: str) -> str:
        """A versioned, authenticated ciphertext (``v1:<key id>:…``) to store instead of ``plaintext``."""
        ...

    def open(self, stored: str, context: str) -> str:
        """The secret; raises ``SecretUnreadable``. A legacy unencrypted value (from before sealing existed) is
        returned as it is when the box accepts those."""
        ...

    def is_current(self, stored: str) -> bool:
        """Sealed under the current key and format (else it should be sealed again)."""
        ...


class Casework(Stores, Protocol):
    """Stores plus what screening needs: the alert policy, the topic names events are queued for, and units of work
    (service_layer/unit_of_work.py) for the worker's use cases."""

    @property
    def metrics(self) -> CaseworkMetrics: ...

    def uow(self) -> AbstractUnitOfWork:
        """A new unit of work on the case database."""
        ...

    @property
    def source_status(self) -> SourceStatusStore: ...

    @property
    def reports(self) -> ReportStore: ...

    @property
    def policy(self) -> AlertPolicy: ...

    @property
    def settings(self) -> TopicNames: ...


class RuleFileInvalid(Exception):
    """Scoring's loader refused the rule file; the message is its reason (a field, never a value from a person)."""


class DescribedRuleFile(Protocol):
    @property
    def sha256(self) -> str: ...

    @property
    def summary(self) -> dict[str, Any]: ...


class RuleFileChecker(Protocol):
    """Scoring's judgement of a rule file (``rules_cli describe``): its summary and the SHA-256 of the bytes
    judged, or ``RuleFileInvalid`` with the loader's reason."""

    def describe(self, path: Path) -> DescribedRuleFile: ...


class AdoptionRecords(Protocol):
    """The adoption record beside the rule file, which scoring compares at start (docs/scoring.md)."""

    def read(self, rule_file: Path) -> dict[str, Any] | None: ...

    def write(self, rule_file: Path, record: dict[str, Any]) -> None: ...
