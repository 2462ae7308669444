"""Casework administration from the shell.

    python -m services.casework.entrypoints.cli migrate
    python -m services.casework.entrypoints.cli create-user --username U --password P --role ward_staff --ward 40131
    python -m services.casework.entrypoints.cli enrol-totp --username U [--reset | --remove]
    python -m services.casework.entrypoints.cli new-totp-key          # prints a random key for TOTP_KEY_FILE
    python -m services.casework.entrypoints.cli rotate-totp-key       # seals every TOTP secret under the first key
    python -m services.casework.entrypoints.cli seed-demo-users
    python -m services.casework.entrypoints.cli seed-training-users      # 研修モード only (deploy/training.sh)
    python -m services.casework.entrypoints.cli verify-audit
    python -m services.casework.entrypoints.cli retention-purge [--dry-run]   # the worker also runs it daily
    python -m services.casework.entrypoints.cli extract|extracts|destroy-key|disclose|disclosures|delete-person|…
        (privacy commands: entrypoints/cli_privacy.py, docs/privacy.md)
    python -m services.casework.entrypoints.cli survey-export --user hq --round ID --out survey.csv [--with-comments]
"""

from __future__ import annotations

import argparse
import base64
import secrets
import sys

from pydantic import ValidationError
from sqlalchemy import select

from services.casework.adapters.db import migrate
from services.casework.adapters.orm import User
from services.casework.bootstrap import bootstrap
from services.casework.config import TOTP_KEY_BYTES, CaseworkSettings
from services.casework.domain import totp as totp_codes
from services.casework.domain.access import WARDS, Role
from services.casework.entrypoints import cli_privacy, cli_rules, cli_survey
from services.casework.service_layer import audit_log, retention
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.auth import (
    TRAINING_ONLY,
    TRAINING_PREFIX,
    create_user,
    enrol_totp,
    is_training_account,
    remove_totp,
    reseal_totp_secrets,
    set_password,
)

# Demo accounts for `make run` on a development machine only (refused outside development).
DEMO_PASSWORD = "tsunagu-demo-2026"  # noqa: S105
DEMO_WARD_USERS = {"40131": "higashi", "40132": "hakata", "40133": "chuo", "40134": "minami", "40135": "nishi",
                   "40136": "jonan", "40137": "sawara"}
DEMO_OTHERS = [("hq", Role.HQ_ADMIN, None), ("privacy", Role.PRIVACY_OFFICER, None),
               ("jisou", Role.CHILD_GUIDANCE, None), ("analyst", Role.ANALYST, None),
               ("operator", Role.OPERATOR, None)]
CLI_ACTOR = Actor("cli", "operator", "cli")
# Training accounts (研修モード, deploy/training.sh): two ward staff per ward (kensyu01/02 東区 … kensyu13/14 早良区),
# HQ, privacy officer and 児童相談所. Refused outside training mode (service_layer/auth.py: not created, not logged
# in), and training mode is refused in production.
TRAINING_PASSWORD = "tsunagu-kensyu-2026"  # noqa: S105 - fictitious data only; printed for the trainer
TRAINING_DIVISIONS = ("子育て支援課", "健康課")


def training_accounts() -> list[tuple[str, Role, str | None, str | None]]:
    """(username, role, ward, division) of every training account."""
    accounts: list[tuple[str, Role, str | None, str | None]] = []
    for i, ward in enumerate(sorted(WARDS)):
        for j, division in enumerate(TRAINING_DIVISIONS):
            accounts.append((f"{TRAINING_PREFIX}{2 * i + j + 1:02d}", Role.WARD_STAFF, ward, division))
    return [*accounts, (f"{TRAINING_PREFIX}-hq", Role.HQ_ADMIN, None, None),
            (f"{TRAINING_PREFIX}-privacy", Role.PRIVACY_OFFICER, None, None),
            (f"{TRAINING_PREFIX}-jisou", Role.CHILD_GUIDANCE, None, None)]


def _create(args: argparse.Namespace) -> int:
    settings = CaseworkSettings()
    if is_training_account(args.username) and not settings.training:
        print(f"error: {TRAINING_ONLY}", file=sys.stderr)
        return 2
    container = bootstrap(settings)
    now = container.clock()
    try:
        with container.sessions.begin() as session:
            user = create_user(session, username=args.username, password=args.password, role=args.role,
                               ward_code=args.ward, division=args.division, now=now, training=settings.training)
            audit_log.append(session, CLI_ACTOR, "create_user", now, target=user.user_id, ward_code=args.ward,
                             detail=f"role={args.role}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.username} ({args.role}{', ' + args.ward if args.ward else ''})")
    return 0


def _enrol_totp(args: argparse.Namespace) -> int:
    """Print the secret once (otpauth URI for a QR code made on the user's own machine, and the base32 text for
    manual entry). Nothing else keeps it: lost means reset."""
    container = bootstrap(CaseworkSettings())
    now = container.clock()
    try:
        with container.sessions.begin() as session:
            if args.remove:
                user = remove_totp(session, args.username)
                secret = None
            else:
                user, secret = enrol_totp(session, args.username, box=container.totp_box, reset=args.reset)
            detail = "removed" if args.remove else ("reset" if args.reset else "enrolled")
            audit_log.append(session, CLI_ACTOR, "enrol_totp", now, target=user.user_id, detail=detail)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if secret is None:
        print(f"second factor removed for {user.username}; their sessions have ended")
        return 0
    print(f"second factor {detail} for {user.username} ({user.role}); their sessions have ended.")
    print("Give these to the user in person, once; they are not shown again:")
    print(f"  authenticator URI (make the QR code on this machine only): "
          f"{totp_codes.provisioning_uri(secret, user.username)}")
    print(f"  secret for manual entry: {secret}")
    return 0


def _new_totp_key(_args: argparse.Namespace) -> int:
    """32 random bytes, base64url: one line of TSUNAGU_CASEWORK_TOTP_KEY_FILE."""
    print(base64.urlsafe_b64encode(secrets.token_bytes(TOTP_KEY_BYTES)).decode().rstrip("="))
    return 0


def _rotate_totp_key(_args: argparse.Namespace) -> int:
    """After the new key was put first in the key file (the old one below it): every stored TOTP secret sealed
    under the new key, unencrypted ones from before sealing included. Exit 1 when some secret no key opens."""
    container = bootstrap(CaseworkSettings())
    box = container.totp_box
    now = container.clock()
    with container.sessions.begin() as session:
        result = reseal_totp_secrets(session, box)
        audit_log.append(session, CLI_ACTOR, "rotate_totp_key", now, target=f"key={box.current_key_id}",
                         detail=f"resealed={result.resealed} current={result.current} "
                                f"unreadable={len(result.unreadable)}")
    print(f"TOTP secrets under key {box.current_key_id}: {result.resealed} sealed again, "
          f"{result.current} already under it")
    if result.unreadable:
        print(f"error: {len(result.unreadable)} secret(s) no configured key opens (altered, or their key was "
              f"removed too early); re-enrol these users with enrol-totp --reset: {', '.join(result.unreadable)}",
              file=sys.stderr)
        return 1
    print("every secret is under the current key: older keys can now be removed from the key file "
          "(restart casework afterwards)")
    return 0


def _seed(_args: argparse.Namespace) -> int:
    settings = CaseworkSettings()
    if settings.environment != "development":
        print("error: demo users are for development only", file=sys.stderr)
        return 2
    container = bootstrap(settings)
    now = container.clock()
    wanted = [(name, Role.WARD_STAFF, ward) for ward, name in DEMO_WARD_USERS.items()] + DEMO_OTHERS
    print(f"demo users (password for all: {DEMO_PASSWORD})")
    with container.sessions.begin() as session:
        for name, role, ward in wanted:
            existing = session.scalars(select(User).where(User.username == name)).first()
            if existing is None:
                user = create_user(session, username=name, password=DEMO_PASSWORD, role=role.value, ward_code=ward,
                                   division="子育て支援課" if role is Role.WARD_STAFF else None, now=now,
                                   check_strength=False)
                audit_log.append(session, CLI_ACTOR, "create_user", now, target=user.user_id, ward_code=ward,
                                 detail=f"role={role.value} demo")
            else:
                set_password(existing, DEMO_PASSWORD, now, check_strength=False)
                existing.active = True
            where = f"{WARDS[ward]} {ward}" if ward else "all wards"
            print(f"  {name:<10} {role.value:<16} {where}")
    return 0


def _seed_training(_args: argparse.Namespace) -> int:
    try:
        settings = CaseworkSettings()
    except ValidationError as exc:  # e.g. training mode together with production
        print(f"error: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    if not settings.training:
        print("error: training accounts are for training mode only (TSUNAGU_CASEWORK_TRAINING=true, "
              "deploy/training.sh)", file=sys.stderr)
        return 2
    container = bootstrap(settings)
    now = container.clock()
    print(f"training users (研修用; password for all: {TRAINING_PASSWORD})")
    with container.sessions.begin() as session:
        for name, role, ward, division in training_accounts():
            existing = session.scalars(select(User).where(User.username == name)).first()
            if existing is None:
                user = create_user(session, username=name, password=TRAINING_PASSWORD, role=role.value,
                                   ward_code=ward, division=division, now=now, check_strength=False,
                                   training=True)
                audit_log.append(session, CLI_ACTOR, "create_user", now, target=user.user_id, ward_code=ward,
                                 detail=f"role={role.value} training")
            else:
                set_password(existing, TRAINING_PASSWORD, now, check_strength=False)
                existing.active = True
            where = f"{WARDS[ward]} {ward} {division}" if ward else "all wards"
            print(f"  {name:<15} {role.value:<16} {where}")
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    migrate(CaseworkSettings().database_url)
    print("casework database is at the newest revision")
    return 0


def _verify(_args: argparse.Namespace) -> int:
    container = bootstrap(CaseworkSettings())
    with container.sessions() as session:
        result = audit_log.verify(session, container.audit_anchor)
    if container.audit_anchor is None:
        print("warning: TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH is not set; a rewrite with recomputed hashes "
              "would not be detected", file=sys.stderr)
    if result.ok:
        anchored = " against the anchor outside the database" if container.audit_anchor else ""
        print(f"audit trail intact: {result.checked} entries verified{anchored}")
        return 0
    print(f"AUDIT TRAIL BROKEN at entry {result.at_seq}: {result.problem} ({result.checked} entries verified before)")
    return 1


def _retention_purge(args: argparse.Namespace) -> int:
    settings = CaseworkSettings()
    container = bootstrap(settings)
    policy = retention.RetentionPolicy(settings.closed_case_retention_days, settings.outbox_retention_days)
    now = container.clock()
    if args.dry_run:
        with container.sessions() as session:
            result = retention.plan(session, policy, now)
        verb = "would remove"
    else:
        result = retention.purge(container.sessions, policy, now, metrics=container.metrics, actor=CLI_ACTOR)
        verb = "removed"
    print(f"retention: closed cases and decided reviews before {result.case_cutoff.date().isoformat()} "
          f"({policy.closed_case_days} days), published outbox rows before "
          f"{result.outbox_cutoff.date().isoformat()} ({policy.outbox_days} days)")
    print(f"{verb}: " + ", ".join(f"{store}={n}" for store, n in result.counts.items()))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casework")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database schema up to date").set_defaults(run=_migrate)
    create = sub.add_parser("create-user", help="create a user")
    create.add_argument("--username", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--ward", default=None, choices=sorted(WARDS))
    create.add_argument("--division", default=None)
    create.set_defaults(run=_create)
    totp = sub.add_parser("enrol-totp", help="set up a user's TOTP second factor (prints the secret once)")
    totp.add_argument("--username", required=True)
    replace = totp.add_mutually_exclusive_group()
    replace.add_argument("--reset", action="store_true", help="replace an enrolled secret (lost phone)")
    replace.add_argument("--remove", action="store_true", help="remove the second factor (TOTP roles then "
                         "cannot log in in production until enrolled again)")
    totp.set_defaults(run=_enrol_totp)
    sub.add_parser("new-totp-key", help="print a random key for TSUNAGU_CASEWORK_TOTP_KEY_FILE") \
        .set_defaults(run=_new_totp_key)
    sub.add_parser("rotate-totp-key", help="seal every stored TOTP secret under the key file's first key "
                   "(after putting a new key first); exit 1 if a secret cannot be opened") \
        .set_defaults(run=_rotate_totp_key)
    sub.add_parser("seed-demo-users", help="create the documented demo users (development)").set_defaults(run=_seed)
    sub.add_parser("seed-training-users", help="create the training accounts kensyu01… (training mode only)") \
        .set_defaults(run=_seed_training)
    sub.add_parser("verify-audit", help="check the audit trail's hash chain").set_defaults(run=_verify)
    purge = sub.add_parser("retention-purge", help="remove closed cases, decided reviews and published outbox rows "
                           "past their retention (the worker runs it daily)")
    purge.add_argument("--dry-run", action="store_true", help="count what would go, change nothing")
    purge.set_defaults(run=_retention_purge)
    cli_privacy.register(sub)
    cli_survey.register(sub)
    cli_rules.register(sub)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
