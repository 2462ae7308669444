"""判定ルールの版の採用 from the shell (issue 16; docs/manual/hq.md 「ルールの版を採用する」).

    python -m services.casework.entrypoints.cli rules-preview [--file RULES.toml]
    python -m services.casework.entrypoints.cli rules-adopt --user hq --reason "…" [--file RULES.toml]

``rules-preview`` checks the file with scoring's own loader and lists what it changes against the adopted
version; nothing is written. ``rules-adopt`` does the same checks as HQ (hq_admin, a reason), then records the
act in the audit trail and the adoption record beside the file, which scoring compares at start. The file is
the one scoring runs (``TSUNAGU_CASEWORK_RULE_FILE``, by default scoring's ``config/fukuoka.toml``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.casework.adapters.rule_files import AdoptionRecordFile, ScoringRuleCheck
from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer import rule_adoption
from services.casework.service_layer.privacy_requests import Refused


def _show(proposal: rule_adoption.Proposal) -> None:
    print(f"ルールファイル: {proposal.rule_file}")
    print(f"  sha256: {proposal.sha256}")
    print(f"  版: {proposal.current_versions or '（採用済みの版なし）'} → {proposal.summary['versions']}")
    print(f"  変更 {len(proposal.changes)} 件:")
    for change in proposal.changes:
        print(f"    - {change.line()}")


def _file(args: argparse.Namespace, settings: CaseworkSettings) -> Path:
    return Path(args.file) if args.file else settings.rule_file


def _preview(args: argparse.Namespace) -> int:
    settings = CaseworkSettings()
    try:
        proposal = rule_adoption.propose(ScoringRuleCheck(), AdoptionRecordFile(), _file(args, settings))
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    _show(proposal)
    print("（試算のみ: 採用するには rules-adopt を実行します）")
    return 0


def _adopt(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    try:
        adopted = rule_adoption.adopt(c.sessions, ScoringRuleCheck(), AdoptionRecordFile(), _file(args, c.settings),
                                      username=args.user, reason=args.reason, now=c.clock())
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    _show(adopted.proposal)
    print(f"採用しました (adopted): 監査ログ #{adopted.audit_seq}。"
          "判定の仕組み（scoring）を再起動すると新しい版で判定します。")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("rules-preview", help="判定ルール: check a rule file and list what it changes (nothing written)")
    p.add_argument("--file", help="rule file (default: TSUNAGU_CASEWORK_RULE_FILE)")
    p.set_defaults(run=_preview)
    p = sub.add_parser("rules-adopt", help="判定ルール: adopt the rule file's versions (hq_admin; audited)")
    p.add_argument("--user", required=True, help="account adopting (hq_admin)")
    p.add_argument("--reason", required=True, help="why (the decision, e.g. 検討会 2026-06-10 決定)")
    p.add_argument("--file", help="rule file (default: TSUNAGU_CASEWORK_RULE_FILE)")
    p.set_defaults(run=_adopt)
