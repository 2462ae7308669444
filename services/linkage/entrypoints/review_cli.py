"""Clerical review from the command line (casework gives it a UI): list open cases, send a decision.

    python -m services.linkage.entrypoints.review_cli list [--show-values]
    python -m services.linkage.entrypoints.review_cli decide REVIEW_ID must_link --by u-001 --reason "…"
        [--person-id PERSON] [--record-id RECORD]        # split needs both; must-link without a review needs both
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.linkage_review import DECISION_TOPIC, REVIEW_TOPIC, ReviewCaseV1, ReviewDecisionV1
from services.linkage.config import LinkageSettings


def _read_all(bootstrap: str, topic: str, security: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=3000, **(security or {}))
    try:
        return [json.loads(m.value) for m in consumer]
    finally:
        consumer.close()


def open_cases(bootstrap: str, security: dict[str, Any] | None = None) -> list[ReviewCaseV1]:
    decided = set()
    for event in _read_all(bootstrap, DECISION_TOPIC.name, security):
        data = event.get("data", event)
        if "review_id" in data:
            decided.add(data["review_id"])
    cases: dict[str, ReviewCaseV1] = {}
    for event in _read_all(bootstrap, REVIEW_TOPIC.name, security):
        case = ReviewCaseV1.model_validate(event.get("data", event))
        if case.review_id not in decided:
            cases[case.review_id] = case
    return list(cases.values())


def _list(args: argparse.Namespace, settings: LinkageSettings) -> int:
    for case in open_cases(settings.kafka_bootstrap, settings.kafka_client_options()):
        print(f"{case.review_id}  {case.system}  {case.reason}  p={case.match_probability:.4f}  "
              f"w={case.match_weight:.1f}  record={case.record_id}  candidate={case.candidate_person_id}")
        for c in case.comparisons:
            values = f"  {c.record_value!r} / {c.candidate_value!r}" if args.show_values else ""
            print(f"    {c.field:<12} {c.agreement:<10} {c.weight:+7.2f}{values}")
    return 0


def _decide(args: argparse.Namespace, settings: LinkageSettings) -> int:
    decision = ReviewDecisionV1(review_id=args.review_id, decision=args.decision, person_id=args.person_id,
                                record_id=args.record_id, decided_by=args.by,
                                decided_at=datetime.now(UTC).isoformat(), reason=args.reason)
    envelope = envelope_dict(data=decision, type_="linkage.review.decided", source="/tsunagu/linkage/review-cli",
                             subject=decision.review_id)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, **settings.kafka_client_options())
    try:
        producer.send(DECISION_TOPIC.name, key=decision.review_id.encode(),
                      value=json.dumps(envelope, ensure_ascii=False).encode()).get(timeout=30)
    finally:
        producer.close()
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
    settings = LinkageSettings()
    return _list(args, settings) if args.command == "list" else _decide(args, settings)


if __name__ == "__main__":
    sys.exit(main())
