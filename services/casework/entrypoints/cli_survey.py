"""利用者アンケート from the shell: the aggregates file that the evaluation report reads (docs/evaluation.md).

    python -m services.casework.entrypoints.cli survey-export --user hq --round ROUND_ID --out survey.csv \
        [--with-comments]

Aggregates only (counts per ward, question and answer) unless ``--with-comments``: the free comments are for HQ's
own report and never go to the wards. The requesting account must be allowed to run surveys (hq_admin); the
export is audited (round and whether comments were included, never the content).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain.access import Permission
from services.casework.domain.survey import SurveyError
from services.casework.service_layer import audit_log, survey
from services.casework.service_layer.privacy_requests import Refused, refuse_audited, requester


def _export(args: argparse.Namespace) -> int:
    c = bootstrap(CaseworkSettings())
    now = c.clock()
    try:
        with c.sessions.begin() as session:
            req = requester(session, args.user, Permission.MANAGE_SURVEY)
            body = survey.export_csv(session, args.round, now, with_comments=args.with_comments)
            audit_log.append(session, req.actor, "survey_export", now, target=args.round[:36],
                             detail="aggregates+comments" if args.with_comments else "aggregates")
    except Refused as exc:
        refuse_audited(c.sessions, args.user, "survey_export", exc, now, target=args.round[:36])
        print(f"refused: {exc}", file=sys.stderr)
        return 2
    except SurveyError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\ufeff" + body, encoding="utf-8")
    print(f"survey tallies written to {out}{' (with comments: HQ only)' if args.with_comments else ''}")
    return 0


def register(sub: Any) -> None:
    p = sub.add_parser("survey-export", help="利用者アンケート: the round's tallies as CSV for the evaluation report")
    p.add_argument("--user", required=True, help="account making the request (hq_admin)")
    p.add_argument("--round", required=True, help="round id (shown on /admin/survey and by /api/survey/rounds)")
    p.add_argument("--out", required=True, help="CSV file to write")
    p.add_argument("--with-comments", action="store_true", help="include the free comments (HQ's report only)")
    p.set_defaults(run=_export)
