"""Kafka principals and their ACLs: the one table (ACCESS), applied by ``kafka.sh`` when KAFKA_SECURITY=sasl.

    python -m deploy.kafka.acls credentials --dir var/kafka-credentials   # a password file per missing principal
    python -m deploy.kafka.acls scram-args --dir var/kafka-credentials    # StorageTool --add-scram values (format)
    python -m deploy.kafka.acls apply --bootstrap 127.0.0.1:9092 --dir …  # as admin: users upserted, ACLs exact
    python -m deploy.kafka.acls show                                      # the table, as ACL lines

Every principal is ``User:<name>`` authenticated with SCRAM-SHA-512; ``admin`` is the only super user (the broker's
own controller/inter-broker identity and the topics admin). Everything not granted here is refused
(``allow.everyone.if.no.acl.found=false``). ``apply`` also deletes ACLs that are no longer in the table.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import (
    casework,
    evaluation_reports,
    ingest_deadletter,
    ingest_records,
    ingest_source_status,
    linkage_children,
    linkage_facts,
    linkage_review,
    privacy_deletions,
    privacy_disclosures,
    privacy_optouts,
    scoring_flags,
)

ADMIN = "admin"
SOURCES = tuple(s.topic for s in SOURCE_SYSTEMS.values())
RECORDS, DEADLETTER = ingest_records.TOPIC.name, ingest_deadletter.TOPIC.name
FACTS, CHILDREN = linkage_facts.TOPIC.name, linkage_children.TOPIC.name
REVIEW, DECISIONS = linkage_review.REVIEW_TOPIC.name, linkage_review.DECISION_TOPIC.name
FLAGS, ALERTS, OUTCOMES = scoring_flags.TOPIC.name, casework.ALERTS_TOPIC.name, casework.OUTCOMES_TOPIC.name
DELETIONS = privacy_deletions.TOPIC.name
SOURCE_STATUS = ingest_source_status.TOPIC.name
OPTOUTS = privacy_optouts.TOPIC.name  # 利用停止: casework → scoring, evaluation
# 開示: casework asks, linkage and scoring answer with what they hold for the child (docs/privacy.md)
DISCLOSURES, DISCLOSURE_REPLIES = privacy_disclosures.REQUEST_TOPIC.name, privacy_disclosures.REPLY_TOPIC.name
REPORTS = evaluation_reports.TOPIC.name  # 週次報告書・評価報告: evaluation → casework (HQ downloads)


@dataclass(frozen=True)
class Access:
    principal: str
    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    group: str | None = None  # consumer group it joins and commits (the worker's APP_ID)
    internal: bool = False  # a Faust app's own topics, named "<group>-…" (leader, changelogs): create, read, write
    owns: tuple[str, ...] = ()  # topics of its own outside the catalogue (scoring's state changelog): the same
    describe_all: bool = False  # topics' and groups' offsets, never a message (the lag exporter)
    development_only: bool = False  # not created when TSUNAGU_ENVIRONMENT=production


ACCESS: tuple[Access, ...] = (
    Access("ingest", read=(*SOURCES, DEADLETTER), write=(RECORDS, DEADLETTER, SOURCE_STATUS), group="tsunagu-ingest"),
    # The HTTP intake; operators also run the school CSV import and the dead-letter replay with it.
    Access("http-intake", read=(DEADLETTER,), write=(*SOURCES, DEADLETTER)),
    # linkage, scoring and evaluation forget a person on a deletion request (docs/privacy.md).
    Access("linkage", read=(RECORDS, DECISIONS, DELETIONS, DISCLOSURES),
           write=(FACTS, CHILDREN, REVIEW, DEADLETTER, DISCLOSURE_REPLIES), group="tsunagu-linkage"),
    # Its state's changelog (services/scoring/entrypoints/worker.py: "<APP_ID>-child-state-changelog").
    Access("scoring", read=(FACTS, DELETIONS, OPTOUTS, DISCLOSURES), write=(FLAGS, DISCLOSURE_REPLIES),
           group="tsunagu-scoring", owns=("tsunagu-scoring-child-state-changelog",)),
    Access("casework", read=(FLAGS, CHILDREN, REVIEW, SOURCE_STATUS, REPORTS, DISCLOSURE_REPLIES),
           write=(ALERTS, OUTCOMES, DECISIONS, DELETIONS, OPTOUTS, DISCLOSURES), group="tsunagu-casework"),
    Access("evaluation", read=(ALERTS, OUTCOMES, FLAGS, DELETIONS, OPTOUTS), write=(REPORTS,),
           group="tsunagu-evaluation", internal=True),
    Access("lag-exporter", describe_all=True),
    *(Access(f"source-{s.system}", write=(s.topic,)) for s in SOURCE_SYSTEMS.values()),
    # make run's smoke scenario stands in for every source system at once.
    Access("simulator", write=SOURCES, development_only=True),
)

# (resource type, name, pattern type, operation): plain strings, so tests can read the table without a broker.
Rule = tuple[str, str, str, str]
OWNER_OPERATIONS = ("CREATE", "READ", "WRITE", "DESCRIBE", "DESCRIBE_CONFIGS")


def rules(access: Access) -> set[Rule]:
    out: set[Rule] = set()
    for topic in access.read:
        out |= {("TOPIC", topic, "LITERAL", "READ"), ("TOPIC", topic, "LITERAL", "DESCRIBE")}
    for topic in access.write:
        out |= {("TOPIC", topic, "LITERAL", "WRITE"), ("TOPIC", topic, "LITERAL", "DESCRIBE")}
    if access.group:
        out |= {("GROUP", access.group, "LITERAL", "READ"), ("GROUP", access.group, "LITERAL", "DESCRIBE")}
        if access.internal:
            out |= {("TOPIC", f"{access.group}-", "PREFIXED", op) for op in OWNER_OPERATIONS}
    for topic in access.owns:
        out |= {("TOPIC", topic, "LITERAL", op) for op in OWNER_OPERATIONS}
    if access.describe_all:
        out |= {("TOPIC", "*", "LITERAL", "DESCRIBE"), ("GROUP", "*", "LITERAL", "DESCRIBE")}
    return out


def principals(production: bool) -> list[Access]:
    return [a for a in ACCESS if not (production and a.development_only)]


def _production() -> bool:
    return os.environ.get("TSUNAGU_ENVIRONMENT") == "production"


def ensure_credentials(directory: Path, production: bool) -> dict[str, str]:
    """A random password per principal (hex: safe inside StorageTool's SCRAM syntax), kept in <dir>/<name>."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    passwords = {}
    for name in [ADMIN, *(a.principal for a in principals(production))]:
        path = directory / name
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_hex(24) + "\n")
        passwords[name] = path.read_text(encoding="utf-8").strip()
    return passwords


def _kafka_acl(principal: str, rule: Rule) -> Any:
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern, ResourceType

    resource, name, pattern, operation = rule
    return ACL(principal=f"User:{principal}", host="*", operation=ACLOperation[operation],
               permission_type=ACLPermissionType.ALLOW,
               resource_pattern=ResourcePattern(ResourceType[resource], name, ACLResourcePatternType[pattern]))


def _as_rule(acl: Any) -> tuple[str, Rule]:
    p = acl.resource_pattern
    return (acl.principal.removeprefix("User:"),
            (p.resource_type.name, p.resource_name, p.pattern_type.name, acl.operation.name))


def apply(bootstrap: str, directory: Path, production: bool, tls_ca: Path | None = None) -> tuple[int, int]:
    """Upserts every principal's SCRAM credentials and makes the broker's ACLs exactly the table's.
    Returns (created, deleted)."""
    from kafka import KafkaAdminClient
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    from contracts.kafka_security import client_options

    passwords = ensure_credentials(directory, production)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="tsunagu-acls", request_timeout_ms=15_000,
                             **client_options("SASL_SSL" if tls_ca else "SASL_PLAINTEXT", ADMIN, passwords[ADMIN],
                                              tls_ca))
    try:
        errors = admin.alter_user_scram_credentials([
            UserScramCredentialUpsertion(name, ScramMechanism.SCRAM_SHA_512, password)
            for name, password in passwords.items() if name != ADMIN])
        failed = sorted(user for user, error in (errors or {}).items() if error)
        if failed:
            raise RuntimeError(f"SCRAM credentials not stored for: {', '.join(failed)}")
        wanted = {(a.principal, r) for a in principals(production) for r in rules(a)}
        everything = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                               permission_type=ACLPermissionType.ANY,
                               resource_pattern=ResourcePatternFilter(ResourceType.ANY, None,
                                                                      ACLResourcePatternType.ANY))
        existing_acls, error = admin.describe_acls(everything)
        if error is not None and getattr(error, "errno", 0):
            raise RuntimeError(f"describe ACLs failed: {type(error).__name__}")
        existing = {_as_rule(acl): acl for acl in existing_acls}
        missing = sorted(wanted - set(existing))
        if missing:
            result = admin.create_acls([_kafka_acl(principal, rule) for principal, rule in missing])
            if result.get("failed"):
                raise RuntimeError(f"{len(result['failed'])} ACL(s) not created")
        stale = [acl for key, acl in existing.items() if key not in wanted]
        if stale:
            admin.delete_acls([ACLFilter(acl.principal, acl.host, acl.operation, acl.permission_type,
                                         acl.resource_pattern) for acl in stale])
        return len(missing), len(stale)
    finally:
        admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="acls", description="Kafka principals and ACLs (deploy/kafka/acls.py)")
    parser.add_argument("command", choices=["credentials", "scram-args", "apply", "show"])
    parser.add_argument("--dir", type=Path, default=Path("var/kafka-credentials"), help="password files")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--tls-ca", type=Path, default=None,
                        help="the CA that signed the broker's certificate: talk SASL_SSL (else SASL_PLAINTEXT)")
    args = parser.parse_args(argv)
    production = _production()
    if args.command == "credentials":
        names = ensure_credentials(args.dir, production)
        print(f"kafka: {len(names)} principals' passwords in {args.dir}")
    elif args.command == "scram-args":
        for name, password in ensure_credentials(args.dir, production).items():
            print(f"SCRAM-SHA-512=[name={name},password={password}]")
    elif args.command == "apply":
        created, deleted = apply(args.bootstrap, args.dir, production, args.tls_ca)
        print(f"kafka: ACLs applied ({created} created, {deleted} removed) for {len(principals(production))} "
              "principals")
    else:
        for access in principals(production):
            for rule in sorted(rules(access)):
                print(f"User:{access.principal:<28} {rule[3]:<16} {rule[0]:<6} {rule[2]:<8} {rule[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
