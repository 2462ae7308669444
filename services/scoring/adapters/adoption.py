"""Is the rule file scoring is about to run the one HQ adopted? (docs/scoring.md "Adopting a rule file").

HQ's adoption act (casework: ``cli rules-adopt``) records the act in casework's audit trail and writes the adoption
record beside the rule file: ``fukuoka.toml`` → ``fukuoka.adopted.json`` (the file's SHA-256, its versions, who,
when, the audit entry's number). At start scoring compares the file it loaded with that record: a file edited
after its adoption, or never adopted, is refused in production and warned about loudly elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.scoring.adapters.rulebook import RulebookError
from services.scoring.domain.rulebook import Rulebook
from services.scoring.metrics import ScoringMetrics

log = logging.getLogger("tsunagu.scoring.adoption")

ADOPTED_SUFFIX = ".adopted.json"
# outcome → what it means, for the log line and the refusal (Japanese first: HQ and operations read it)
OUTCOMES = {
    "adopted": "採用済みのルールファイルです (the rule file is the adopted one)",
    "not_adopted": "ルールファイルが採用されていません (no adoption record: the rule file was never adopted)",
    "changed": "採用後にルールファイルが変更されています (the rule file differs from the adopted one)",
    "versions_differ": "採用記録と版が一致しません (the adoption record names other versions)",
    "record_unreadable": "採用記録を読めません (the adoption record is unreadable)",
}


class RuleFileNotAdopted(RulebookError):
    """Production refuses to score with a rule file HQ has not adopted (the worker: exit 1 with the reason)."""


def adoption_record_path(rule_file: Path) -> Path:
    return rule_file.with_name(rule_file.stem + ADOPTED_SUFFIX)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class AdoptionCheck:
    outcome: str
    sha256: str
    adopted: dict[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.outcome == "adopted"


def read_record(rule_file: Path) -> dict[str, Any] | None:
    """The adoption record, or None when there is none; ValueError when it is not one."""
    path = adoption_record_path(rule_file)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    record = json.loads(text)
    if not isinstance(record, dict) or not isinstance(record.get("sha256"), str):
        raise ValueError("not an adoption record")
    return record


def compare(rule_file: Path, rulebook: Rulebook) -> AdoptionCheck:
    sha = file_sha256(rule_file)
    try:
        record = read_record(rule_file)
    except (OSError, ValueError):
        return AdoptionCheck("record_unreadable", sha, None)
    if record is None:
        return AdoptionCheck("not_adopted", sha, None)
    if record["sha256"] != sha:
        return AdoptionCheck("changed", sha, record)
    if record.get("versions") != rulebook.versions:
        return AdoptionCheck("versions_differ", sha, record)
    return AdoptionCheck("adopted", sha, record)


def check_adoption(rule_file: Path, rulebook: Rulebook, *, environment: str,
                   metrics: ScoringMetrics) -> AdoptionCheck:
    """Counts the check (``tsunagu_scoring_rule_file_checks_total{outcome}``, gauge
    ``tsunagu_scoring_rule_file_adopted``); raises ``RuleFileNotAdopted`` in production when not adopted."""
    check = compare(rule_file, rulebook)
    metrics.rule_file_checks.labels(outcome=check.outcome).inc()
    metrics.rule_file_adopted.set(1 if check.ok else 0)
    what = f"{rule_file.name} (versions {rulebook.versions}, sha256 {check.sha256[:12]}…)"
    if check.ok:
        record = check.adopted or {}
        log.info("rule file %s adopted at %s (audit entry %s)", what, record.get("adopted_at"),
                 record.get("audit_seq"))
        return check
    message = (f"{rule_file}: {OUTCOMES[check.outcome]} — HQ adopts it with "
               "`python -m services.casework.entrypoints.cli rules-adopt` (docs/manual/hq.md)")
    if environment == "production":
        raise RuleFileNotAdopted(message)
    log.warning("!!! UNADOPTED RULE FILE !!! %s: %s; scoring runs it only because TSUNAGU_ENVIRONMENT=%s "
                "(production refuses to start)", what, OUTCOMES[check.outcome], environment)
    return check
