"""Clerical review from the command line (casework gives it a UI): list open cases, send a decision.

    python -m services.linkage.entrypoints.review_cli list [--show-values]
    python -m services.linkage.entrypoints.review_cli decide REVIEW_ID must_link --by u-001 --reason "…"
        [--person-id PERSON] [--record-id RECORD]        # split needs both; must-link without a review needs both
"""

from __future__ import annotations

import argparse
import sys

from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.bootstrap import Container, bootstrap


def _list(args: argparse.Namespace, container: Container) -> int:
    for case in container.review_topics().open_cases():
        print(f"{case.review_id}  {case.system}  {case.reason}  p={case.match_probability:.4f}  "
              f"w={case.match_weight:.1f}  record={case.record_id}  candidate={case.candidate_person_id}")
        for c in case.comparisons:
            values = f"  {c.record_value!r} / {c.candidate_value!r}" if args.show_values else ""
            print(f"    {c.field:<12} {c.agreement:<10} {c.weight:+7.2f}{values}")
    return 0


def _decide(args: argparse.Namespace, container: Container) -> int:
    decision = ReviewDecisionV1(review_id=args.review_id, decision=args.decision, person_id=args.person_id,
                                record_id=args.record_id, decided_by=args.by,
                                decided_at=container.clock.now().isoformat(), reason=args.reason)
    container.review_topics().send_decision(decision)
    print(f"sent {decision.decision} for {decision.review_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="review_cli")
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="open review cases with their field-by-field evidence")
    listing.add_argument("--show-values", action="store_true", help="also print the compared values")
    decide = sub.add_parser("decide", help="send a decision to linkage.decisions.v1")
    decide.add_argument("review_id")
    decide.add_argument("decision", choices=["must_link", "cannot_link", "split"])
    decide.add_argument("--by", required=True, help="reviewer's user id (not a name)")
    decide.add_argument("--reason", required=True)
    decide.add_argument("--person-id")
    decide.add_argument("--record-id")
    args = parser.parse_args(argv)
    container = bootstrap()
    return _list(args, container) if args.command == "list" else _decide(args, container)


if __name__ == "__main__":
    sys.exit(main())
