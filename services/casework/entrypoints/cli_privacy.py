"""Privacy commands (docs/privacy.md): masked extracts, key destruction, disclosure, deletion, opt-out.

    python -m services.casework.entrypoints.cli extract --user hq --purpose "…" --from 2025-04-01 --to 2026-03-31 \
        --out DIR
    python -m services.casework.entrypoints.cli extracts
    python -m services.casework.entrypoints.cli destroy-key --user privacy --extract ID [--partner-deleted]
    python -m services.casework.entrypoints.cli disclose --user privacy --child ID --ref 受付番号 --out DIR [--no-pdf]
    python -m services.casework.entrypoints.cli disclose --user privacy --request REQUEST_ID --out DIR [--no-pdf]
    python -m services.casework.entrypoints.cli disclosures --user privacy
    python -m services.casework.entrypoints.cli delete-person --user privacy --child ID --requested-by 保護者 --ref R \
        [--yes]
    python -m services.casework.entrypoints.cli opt-out --user privacy --child ID --requested-by 保護者 --reason "…"
    python -m services.casework.entrypoints.cli opt-out --user privacy --child ID --withdraw --reason "…"
    python -m services.casework.entrypoints.cli opt-out --user privacy --child ID --household --requested-by 保護者 …
    python -m services.casework.entrypoints.cli opt-out --user privacy --child ID --household --withdraw --reason "…"
    python -m services.casework.entrypoints.cli opt-out --user privacy --republish-all

``--user`` names the account the request is made for (its role must allow it); the command is run by an operator
on the host, like ``create-user``. A refused request exits 2 and changes nothing except its audit entry.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer import privacy_deletion, privacy_disclosure, privacy_extract, privacy_optout
from services.casework.service_layer.privacy_requests import Refused

Command = Callable[[argparse.Namespace], int]


def refusals(run: Command) -> Command:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except Refused as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 2
    return wrapped


@refusals
def _extract(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    result = privacy_extract.produce(c, username=args.user, purpose=args.purpose, period_from=args.period_from,
                                     period_to=args.period_to, out=Path(args.out), recipient=args.recipient)
    report = result.k_report
    print(f"extract {result.extract_id} written to {result.out_dir}")
    print("rows: " + ", ".join(f"{name}={n}" for name, n in result.row_counts.items()))
    print(f"k-anonymity: k={report['k']} over {', '.join(report['quasi_identifiers'])}; age level "
          f"{report['age_generalisation_level']}; {report['subjects_suppressed']} of {report['subjects_before']} "
          f"children suppressed; smallest class {report['smallest_class']}")
    print(f"key id {result.key_id} (destroy with: destroy-key --extract {result.extract_id})")
    return 0


def _extracts(_args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    with c.sessions() as session:
        print(json.dumps(privacy_extract.register(session), ensure_ascii=False, indent=2))
    return 0


@refusals
def _destroy_key(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    key = privacy_extract.destroy_key(c, username=args.user, extract_id=args.extract,
                                      partner_deleted=args.partner_deleted)
    print(f"key {key.key_id} destroyed; the extract's pseudonyms can no longer be linked to children")
    return 0


@refusals
def _disclose(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    if (args.request is None) == (args.child is None) or (args.child is not None and args.ref is None):
        print("give --child and --ref (a new request), or --request (the report of a request again)",
              file=sys.stderr)
        return 2
    result = privacy_disclosure.disclose(c, username=args.user, child_id=args.child, out=Path(args.out),
                                         request_ref=args.ref, request_id=args.request, pdf=not args.no_pdf)
    status = result.status
    print(f"disclosure request {status.request_id} (受付番号 {status.ref}), report {result.report_id}: {result.html}")
    print(f"PDF: {result.pdf}" if result.pdf else "PDF: not produced (no headless Chromium, or --no-pdf)")
    for part in status.parts:
        asked = status.requested_at.isoformat()
        when = part.answered_at.isoformat() if part.answered_at else f"not yet (asked {asked})"
        print(f"  {part.service}: {part.state}, answered {when}")
    if not status.complete:
        print(f"INCOMPLETE: produce it again with --request {status.request_id} once every part is in"
              + (f"; past the deadline, missing: {', '.join(status.missing)}" if status.missing else ""))
    print(f"{result.accesses} recorded accesses listed; review the report before handing it over")
    return 0


@refusals
def _disclosures(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    rows = [{"request_id": s.request_id, "ref": s.ref, "child_id": s.child_id,
             "requested_at": s.requested_at.isoformat(), "deadline_at": s.deadline_at.isoformat(),
             "complete": s.complete, "parts": {p.service: p.state for p in s.parts}}
            for s in privacy_disclosure.requests(c, username=args.user)]
    print(json.dumps(rows, ensure_ascii=False, indent=1))
    return 0


def _confirm_on_terminal(assume_yes: bool) -> privacy_deletion.Confirm:
    def confirm(counts: dict[str, int], extracts: list[dict[str, Any]]) -> bool:
        print("this deletion removes, per store:")
        for store, n in counts.items():
            print(f"  {store:<26} {n}")
        held = [e for e in extracts if e["pseudonym"]]
        unknown = [e for e in extracts if e["key_destroyed"]]
        print(f"handed-over extracts holding the person: {len(held)}"
              + (f" (and {len(unknown)} whose key is destroyed: membership unknown)" if unknown else ""))
        print("the audit trail is kept; privacy.deletions.v1 tells linkage and scoring to forget the person")
        if assume_yes:
            return True
        answer = input("削除を実行しますか？ type DELETE to confirm: ")
        return answer.strip() == "DELETE"
    return confirm


@refusals
def _delete(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    result = privacy_deletion.delete_person(c, username=args.user, child_id=args.child, requested_by=args.requested_by,
                                            request_ref=args.ref, confirm=_confirm_on_terminal(args.yes))
    print(f"deleted (request {result.request_id}); removed: "
          + ", ".join(f"{store}={n}" for store, n in result.removed.items()))
    for e in result.extracts:
        if e["pseudonym"]:
            print(f"  ask the recipient of extract {e['extract_id']} ({e['recipient'] or 'recipient not recorded'}) "
                  f"to delete pseudonym {e['pseudonym']}")
    print("the tombstone is queued in the outbox; the casework worker publishes it to privacy.deletions.v1")
    return 0


@refusals
def _opt_out(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    if args.republish_all:
        queued = privacy_optout.republish(c, username=args.user)
        print(f"{queued} opt-out(s) queued again for privacy.optouts.v1 (scoring drops what it already applied)")
        return 0
    if not args.child:
        raise SystemExit("opt-out: --child is required (or --republish-all)")
    if args.household and args.withdraw:
        results = privacy_optout.withdraw_household(c, username=args.user, child_id=args.child, reason=args.reason)
        print(f"household opt-out withdrawn; {len(results)} child(ren) covered by it screened again "
              "(a child's own opt-out stays)")
        return 0
    if args.household:
        results = privacy_optout.opt_out_household(c, username=args.user, child_id=args.child,
                                                   requested_by=args.requested_by, reason=args.reason,
                                                   requested_on=args.requested_on)
        print(f"opted out {len(results)} child(ren) of the household (those already opted out are unchanged); "
              "a child born into or joining the household later is opted out too, until --household --withdraw")
        for result in results:
            print(f"  {result.child_id}" + (f": open case {result.open_case} has a 利用停止 entry" if result.open_case
                                             else ""))
        return 0
    if args.withdraw:
        result = privacy_optout.withdraw(c, username=args.user, child_id=args.child, reason=args.reason)
        print(f"opt-out withdrawn; screening resumed ({result.screening})")
        return 0
    result = privacy_optout.opt_out(c, username=args.user, child_id=args.child, requested_by=args.requested_by,
                                    reason=args.reason, requested_on=args.requested_on)
    print("opted out: no alerts are raised for this child" + (
        f"; the open case {result.open_case} has a 利用停止 entry for its staff to act on" if result.open_case else ""))
    return 0


def register(sub: Any) -> None:
    """Adds the privacy commands to the casework CLI's sub-parsers."""
    p = sub.add_parser("extract", help="masked analysis extract (仮名加工情報) for a stated purpose and period")
    p.add_argument("--user", required=True, help="account making the request (hq_admin)")
    p.add_argument("--purpose", default=None, help="利用目的 (required)")
    p.add_argument("--from", dest="period_from", default=None, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="period_to", default=None, help="last day, YYYY-MM-DD")
    p.add_argument("--out", required=True, help="directory; the extract goes into a new sub-directory")
    p.add_argument("--recipient", default=None, help="the analysis body it is handed to")
    p.set_defaults(run=_extract)
    sub.add_parser("extracts", help="list the extract register").set_defaults(run=_extracts)
    p = sub.add_parser("destroy-key", help="destroy an extract's pseudonym key")
    p.add_argument("--user", required=True)
    p.add_argument("--extract", required=True)
    p.add_argument("--partner-deleted", action="store_true", help="the analysis body confirmed it deleted the data")
    p.set_defaults(run=_destroy_key)
    p = sub.add_parser("disclose", help="開示: report of what casework, linkage and scoring hold about a child and "
                                        "who accessed it (a new request, or --request to produce it again)")
    p.add_argument("--user", required=True, help="privacy officer")
    p.add_argument("--child", default=None, help="child id (a new request: linkage and scoring are asked)")
    p.add_argument("--ref", default=None, help="受付番号 of the request (with --child)")
    p.add_argument("--request", default=None, help="the report of this earlier request, with the answers so far")
    p.add_argument("--out", required=True, help="directory for the HTML (and PDF)")
    p.add_argument("--no-pdf", action="store_true")
    p.set_defaults(run=_disclose)
    p = sub.add_parser("disclosures", help="開示: the disclosure requests and which services have answered")
    p.add_argument("--user", required=True, help="privacy officer")
    p.set_defaults(run=_disclosures)
    p = sub.add_parser("delete-person", help="削除: delete a child's data in casework and publish a deletion request")
    p.add_argument("--user", required=True, help="privacy officer")
    p.add_argument("--child", required=True, help="child id")
    p.add_argument("--requested-by", required=True, choices=privacy_deletion.REQUESTERS)
    p.add_argument("--ref", required=True, help="受付番号 of the request")
    p.add_argument("--yes", action="store_true", help="do not ask (the plan is still printed)")
    p.set_defaults(run=_delete)
    p = sub.add_parser("opt-out", help="利用停止: exclude a child from screening (or --withdraw)")
    p.add_argument("--user", required=True, help="privacy officer or HQ")
    p.add_argument("--child", default=None, help="child id")
    p.add_argument("--household", action="store_true",
                   help="a guardian's request for every child of the child's household")
    p.add_argument("--republish-all", action="store_true",
                   help="queue every recorded opt-out for privacy.optouts.v1 again (opt-outs from before the topic)")
    p.add_argument("--requested-by", default=None, choices=privacy_deletion.REQUESTERS)
    p.add_argument("--reason", default=None)
    p.add_argument("--requested-on", default=None, help="YYYY-MM-DD (default today)")
    p.add_argument("--withdraw", action="store_true", help="end the opt-out")
    p.set_defaults(run=_opt_out)
