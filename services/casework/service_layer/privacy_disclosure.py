"""Disclosure (開示): for a privacy officer, a Japanese report of what casework holds about a child and every
recorded access to the child's data, as HTML (and PDF through headless Chromium when it is installed).

The report is for the officer to review before it is handed over: parts may be 不開示情報 (docs/privacy.md).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select

from services.casework.adapters.orm import Alert, AuditRecord, CaseStep, Child, PrivacyOptOut, User
from services.casework.domain.access import ROLE_LABELS, WARDS, Permission
from services.casework.domain.audit import ACTION_LABELS, OUTCOME_LABELS
from services.casework.domain.pseudonym import JST
from services.casework.service_layer import audit_log
from services.casework.service_layer.ports import Stores
from services.casework.service_layer.privacy_requests import Refused, refuse_audited, requester, stated

TEMPLATES = Path(__file__).resolve().parents[1] / "entrypoints" / "templates"
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
SOURCE_LABELS = {"linkage": "名寄せ（住民記録等から作成した児童の基本情報）", "scoring": "判定（基本連携データ項目）",
                 "casework": "ケース記録（区・児童相談所）"}


@dataclass(frozen=True)
class DisclosureResult:
    report_id: str
    html: Path
    pdf: Path | None
    accesses: int


def _jst(value: datetime | str | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["jst"] = _jst
    return env


def gather(session: Any, child: Child) -> dict[str, Any]:
    alerts = list(session.scalars(select(Alert).where(Alert.child_id == child.child_id).order_by(Alert.seq)))
    alert_ids = [a.alert_id for a in alerts]
    steps = list(session.scalars(select(CaseStep).where(CaseStep.alert_id.in_(alert_ids))
                                 .order_by(CaseStep.at, CaseStep.id))) if alert_ids else []
    accesses = list(session.scalars(select(AuditRecord).where(or_(
        AuditRecord.child_id == child.child_id,
        AuditRecord.target.in_(alert_ids) if alert_ids else AuditRecord.seq < 0)).order_by(AuditRecord.seq)))
    users = {u.user_id: u for u in session.scalars(select(User).where(
        User.user_id.in_({a.user_id for a in accesses} | {s.actor_id for s in steps})))}
    opt_out = session.get(PrivacyOptOut, child.child_id)
    return {"child": child, "ward": WARDS.get(child.ward_code or "", "不明"), "flags": child.flags or [],
            "signals": child.signals or [], "signals_known": child.signals is not None,
            "alerts": [(a, [s for s in steps if s.alert_id == a.alert_id]) for a in alerts],
            "accesses": accesses, "users": users, "opt_out": opt_out}


def disclose(c: Stores, *, username: str, child_id: str, out: Path, request_ref: str | None = None,
             pdf: bool = True) -> DisclosureResult:
    now = c.clock()
    report_id = str(uuid.uuid4())
    try:
        with c.sessions() as session:
            req = requester(session, username, Permission.DISCLOSE)
            ref = stated(request_ref, "受付番号", "no_request_ref", minimum=1, maximum=64)
            child = session.get(Child, (child_id or "").strip())
            if child is None or child.status == "merged":
                raise Refused("unknown_person", "該当する児童の記録はありません (no such person in casework)")
            facts = gather(session, child)
            html = _env().get_template("disclosure.html").render(
                **facts, now=now, ref=ref, report_id=report_id, officer=req.principal.username,
                ACTION_LABELS=ACTION_LABELS, OUTCOME_LABELS=OUTCOME_LABELS, WARDS=WARDS, SOURCE_LABELS=SOURCE_LABELS,
                ROLE_LABELS={r.value: label for r, label in ROLE_LABELS.items()} | {"system": "システム"})
    except Refused as exc:
        refuse_audited(c.sessions, username, "disclosure", exc, now, child_id=(child_id or "")[:64] or None)
        raise
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"disclosure-{now.astimezone(JST):%Y%m%d}-{report_id[:8]}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = to_pdf(html_path) if pdf else None
    with c.sessions.begin() as session:
        audit_log.append(session, req.actor, "disclosure", now, child_id=child.child_id, target=report_id,
                         ward_code=child.ward_code, detail=f"ref={ref} accesses={len(facts['accesses'])} "
                                                           f"pdf={'yes' if pdf_path else 'no'}")
    return DisclosureResult(report_id, html_path, pdf_path, len(facts["accesses"]))


def to_pdf(html_path: Path, timeout_s: float = 90) -> Path | None:
    """HTML → PDF with headless Chromium (local file, no network); None when no browser is installed or it fails."""
    browser = next((b for b in CHROMIUM if shutil.which(b)), None)
    if browser is None:
        return None
    pdf_path = html_path.with_suffix(".pdf")
    try:
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        "--disable-extensions", "--no-first-run", f"--print-to-pdf={pdf_path}",
                        html_path.resolve().as_uri()], capture_output=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return pdf_path if pdf_path.exists() and pdf_path.stat().st_size > 0 else None
