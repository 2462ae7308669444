"""Casework administration from the shell.

    python -m services.casework.entrypoints.cli migrate
    python -m services.casework.entrypoints.cli create-user --username U --password P --role ward_staff --ward 40131
    python -m services.casework.entrypoints.cli seed-demo-users
    python -m services.casework.entrypoints.cli verify-audit
    python -m services.casework.entrypoints.cli extract|extracts|destroy-key|disclose|delete-person|opt-out …
        (privacy commands: entrypoints/cli_privacy.py, docs/privacy.md)
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import select

from services.casework.adapters.db import migrate
from services.casework.adapters.orm import User
from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain.access import WARDS, Role
from services.casework.entrypoints import cli_privacy
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.auth import create_user, set_password

# Demo accounts for `make run` on a development machine only (refused outside development).
DEMO_PASSWORD = "tsunagu-demo-2026"  # noqa: S105
DEMO_WARD_USERS = {"40131": "higashi", "40132": "hakata", "40133": "chuo", "40134": "minami", "40135": "nishi",
                   "40136": "jonan", "40137": "sawara"}
DEMO_OTHERS = [("hq", Role.HQ_ADMIN, None), ("privacy", Role.PRIVACY_OFFICER, None),
               ("jisou", Role.CHILD_GUIDANCE, None), ("analyst", Role.ANALYST, None),
               ("operator", Role.OPERATOR, None)]
CLI_ACTOR = Actor("cli", "operator", "cli")


def _create(args: argparse.Namespace) -> int:
    container = bootstrap(CaseworkSettings())
    now = container.clock()
    try:
        with container.sessions.begin() as session:
            user = create_user(session, username=args.username, password=args.password, role=args.role,
                               ward_code=args.ward, division=args.division, now=now)
            audit_log.append(session, CLI_ACTOR, "create_user", now, target=user.user_id, ward_code=args.ward,
                             detail=f"role={args.role}")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.username} ({args.role}{', ' + args.ward if args.ward else ''})")
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
    sub.add_parser("seed-demo-users", help="create the documented demo users (development)").set_defaults(run=_seed)
    sub.add_parser("verify-audit", help="check the audit trail's hash chain").set_defaults(run=_verify)
    cli_privacy.register(sub)
    args = parser.parse_args(argv)
    code: int = args.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
