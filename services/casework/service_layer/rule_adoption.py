"""HQ adopts a rule file version: a separate, audited act (issue 16; docs/scoring.md "Adopting a rule file",
docs/manual/hq.md 「ルールの版を採用する」).

``preview`` shows what the file changes against the adopted version, after the same checks as the act, and changes
nothing. ``adopt`` checks the account (hq_admin), the reason, the file (scoring's own loader, run as
``rules_cli describe``) and that its versions are new; then appends ``rules_adopt`` to the audit trail and writes
the adoption record beside the rule file in the same transaction — a refusal changes nothing and is audited as
denied.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.casework.domain.access import Permission
from services.casework.domain.rule_adoption import Change, changes, not_new
from services.casework.service_layer import audit_log
from services.casework.service_layer.ports import AdoptionRecords, RuleFileChecker, RuleFileInvalid
from services.casework.service_layer.privacy_requests import CLI_CLIENT, Refused, refuse_audited, requester, stated

ACTION = "rules_adopt"


@dataclass(frozen=True)
class Proposal:
    rule_file: Path
    sha256: str
    summary: dict[str, Any]
    current: dict[str, Any] | None  # the adoption record in force, None before the first adoption
    changes: list[Change]

    @property
    def current_versions(self) -> str | None:
        return None if self.current is None else str(self.current.get("versions"))


def propose(checker: RuleFileChecker, records: AdoptionRecords, rule_file: Path) -> Proposal:
    """The checks of the act that need no account: the file as scoring loads it, new versions. Raises Refused."""
    try:
        current = records.read(rule_file)
    except ValueError:
        raise Refused("record_unreadable", "採用記録を読めません。情報システム担当に連絡してください "
                                           "(the adoption record is unreadable)") from None
    try:
        described = checker.describe(rule_file)
    except RuleFileInvalid as exc:
        raise Refused("invalid_rule_file",
                      f"ルールファイルに誤りがあります (the rule file is refused): {exc}") from None
    summary = described.summary
    before = None if current is None else current.get("summary")
    found = changes(before, summary)
    history = [] if current is None else [current.get("versions", ""),
                                          *(h.get("versions", "") for h in current.get("history", []))]
    if (why := not_new(before, summary, history, found)) is not None:
        raise Refused("version_not_new", why)
    return Proposal(rule_file, described.sha256, summary, current, found)


@dataclass(frozen=True)
class Adopted:
    proposal: Proposal
    audit_seq: int
    record: dict[str, Any]


def adopt(sessions: sessionmaker[Session], checker: RuleFileChecker, records: AdoptionRecords, rule_file: Path, *,
          username: str, reason: str | None, now: datetime, client: str | None = CLI_CLIENT) -> Adopted:
    try:
        with sessions.begin() as session:
            req = requester(session, username, Permission.ADOPT_RULES, client)
            why = stated(reason, "採用の理由", "no_reason", minimum=5)
            proposal = propose(checker, records, rule_file)
            seq = audit_log.append(
                session, req.actor, ACTION, now, target=rule_file.name,
                detail=f"{proposal.current_versions or '-'} -> {proposal.summary['versions']}; "
                       f"sha256={proposal.sha256}; changes={len(proposal.changes)}; reason: {why}")
            # the audit head is locked now (PostgreSQL: FOR UPDATE): an adoption that came first has committed
            if records.read(rule_file) != proposal.current:
                raise Refused("adopted_meanwhile", "他の利用者が先に採用しました。内容を確かめ直してください "
                                                   "(another adoption came first: check again)")
            record = _record(proposal, req.actor.user_id, why, now, seq)
            records.write(rule_file, record)  # last: a failure here rolls the audit entry back
    except Refused as exc:
        refuse_audited(sessions, username, ACTION, exc, now, target=rule_file.name, client=client)
        raise
    return Adopted(proposal, seq, record)


def _record(proposal: Proposal, user_id: str, reason: str, now: datetime, seq: int) -> dict[str, Any]:
    summary = proposal.summary
    history: list[dict[str, Any]] = []
    if proposal.current is not None:
        previous = {k: v for k, v in proposal.current.items() if k not in {"history", "summary"}}
        history = [previous, *proposal.current.get("history", [])]
    return {
        "rule_file": proposal.rule_file.name, "sha256": proposal.sha256, "versions": summary["versions"],
        "rules_version": summary["rules_version"], "weights_version": summary["weights_version"],
        "horizons_version": summary.get("horizons_version"), "adopted_at": now.isoformat(),
        "adopted_by": user_id, "reason": reason, "audit_seq": seq,
        "changes": [c.line() for c in proposal.changes], "summary": summary, "history": history,
    }
