"""Disclosure (開示): for a privacy officer, a Japanese report of what Tsunagu holds about a child — casework's own
records, what linkage and scoring answered over Kafka, and every recorded access to the child's data — as HTML
(and PDF through headless Chromium when it is installed).

A request (``request``) is recorded and published on privacy.disclosures.v1 through the outbox; linkage and scoring
answer on privacy.disclosure_replies.v1 and the worker keeps their answers (``store_reply``). The report
(``disclose``) can be produced at once and again later: each service's part shows when it answered, or 「未回答」
with the request time, and after the deadline (``disclosure_reply_wait_minutes``) which part is missing.

The report is for the officer to review before it is handed over: parts may be 不開示情報 (docs/privacy.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import or_, select

from contracts.envelope import envelope_dict
from contracts.sources import SOURCE_SYSTEMS
from contracts.topics.privacy_disclosures import (
    ANSWERING,
    REQUEST_EVENT_TYPE,
    REQUEST_TOPIC,
    DisclosureReplyV1,
    DisclosureRequestV1,
)
from services.casework.adapters.orm import (
    Alert,
    AuditRecord,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDeletion,
    PrivacyDisclosureReply,
    PrivacyDisclosureRequest,
    PrivacyOptOut,
    User,
)
from services.casework.domain.access import ROLE_LABELS, WARDS, Permission
from services.casework.domain.audit import ACTION_LABELS, OUTCOME_LABELS
from services.casework.domain.pseudonym import JST, forgotten_hash
from services.casework.service_layer import audit_log
from services.casework.service_layer.ports import Casework
from services.casework.service_layer.privacy_requests import (
    CLI_CLIENT,
    Refused,
    Requester,
    refuse_audited,
    requester,
    stated,
)
from services.casework.service_layer.unit_of_work import AbstractUnitOfWork

TEMPLATES = Path(__file__).resolve().parents[1] / "entrypoints" / "templates"
CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
SOURCE_LABELS = {"linkage": "名寄せ（住民記録等から作成した児童の基本情報）", "scoring": "判定（基本連携データ項目）",
                 "casework": "ケース記録（区・児童相談所）"}
SERVICE_LABELS = {"linkage": "名寄せ（住民記録等の突合）", "scoring": "判定（基本連携データ項目）"}
SOURCE = "/tsunagu/casework"
SOURCE_SYSTEM_LABELS = {code: s.label_ja for code, s in SOURCE_SYSTEMS.items()}
RELATION_LABELS = {"self": "本人", "mother": "母（第三者）", "household": "世帯（第三者を含む）",
                   "guardian": "保護者（第三者）"}
FACT_KIND_LABELS = {
    "residence": "住民登録", "public_assistance": "生活保護", "pregnancy_notified": "妊娠届",
    "prenatal_checkup": "妊婦健診", "birth": "出生", "postpartum_checkup": "産婦健診", "infant_checkup": "乳幼児健診",
    "allowance": "手当（児童手当・児童扶養手当）", "special_allowance": "特別児童扶養手当",
    "single_parent_loan": "母子父子寡婦福祉資金", "childcare": "保育所等の利用", "medical_subsidy": "医療費助成",
    "disability_certificate": "障がい者手帳", "household_care": "世帯の介護", "school_enrolment": "在籍（学校）",
    "attendance": "出欠", "school_health_checkup": "学校健診", "survey": "学校のアンケート", "school_aid": "就学援助",
    "lunch_arrears": "給食費の滞納", "child_guidance": "児童相談所の関与",
}


@dataclass(frozen=True)
class Part:
    """One service's part of a disclosure: ``answered``, ``pending`` (before the deadline) or ``missing``."""

    service: str
    label: str
    state: str
    answered_at: datetime | None
    held: bool | None
    reply: dict[str, Any] | None


@dataclass(frozen=True)
class RequestStatus:
    request_id: str
    child_id: str
    ref: str
    requested_at: datetime
    requested_by: str
    deadline_at: datetime
    deleted: bool
    parts: list[Part]

    @property
    def complete(self) -> bool:
        return all(p.state == "answered" for p in self.parts)

    @property
    def missing(self) -> list[str]:
        return [p.service for p in self.parts if p.state == "missing"]


@dataclass(frozen=True)
class DisclosureResult:
    report_id: str
    html: Path
    pdf: Path | None
    accesses: int
    status: RequestStatus


def _jst(value: datetime | str | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(JST).strftime("%Y年%m月%d日 %H:%M")


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    env.filters["jst"] = _jst
    return env


def gather(session: Any, child_id: str, child: Child | None) -> dict[str, Any]:
    """What casework holds about the child (nothing but the audit trail when it was deleted on request)."""
    alerts = list(session.scalars(select(Alert).where(Alert.child_id == child_id).order_by(Alert.seq)))
    alert_ids = [a.alert_id for a in alerts]
    steps = list(session.scalars(select(CaseStep).where(CaseStep.alert_id.in_(alert_ids))
                                 .order_by(CaseStep.at, CaseStep.id))) if alert_ids else []
    accesses = list(session.scalars(select(AuditRecord).where(or_(
        AuditRecord.child_id == child_id,
        AuditRecord.target.in_(alert_ids) if alert_ids else AuditRecord.seq < 0)).order_by(AuditRecord.seq)))
    users = {u.user_id: u for u in session.scalars(select(User).where(
        User.user_id.in_({a.user_id for a in accesses} | {s.actor_id for s in steps})))}
    opt_out = session.get(PrivacyOptOut, child_id)
    return {"child": child, "child_id": child_id,
            "ward": WARDS.get((child.ward_code if child else None) or "", "不明"),
            "flags": (child.flags if child else None) or [], "signals": (child.signals if child else None) or [],
            "signals_known": child is not None and child.signals is not None,
            "alerts": [(a, [s for s in steps if s.alert_id == a.alert_id]) for a in alerts],
            "accesses": accesses, "users": users, "opt_out": opt_out}


def _status(req: PrivacyDisclosureRequest, replies: list[PrivacyDisclosureReply], now: datetime) -> RequestStatus:
    by_service = {r.service: r for r in replies}
    overdue = now >= req.deadline_at
    parts = []
    for service in req.services:
        reply = by_service.get(service)
        state = "answered" if reply is not None else "missing" if overdue else "pending"
        parts.append(Part(service, SERVICE_LABELS.get(service, service), state,
                          reply.answered_at if reply else None, reply.held if reply else None,
                          reply.payload if reply else None))
    return RequestStatus(req.request_id, req.child_id, req.request_ref, req.requested_at, req.requested_by,
                         req.deadline_at, req.deleted, parts)


def status_of(session: Any, request_id: str, now: datetime) -> RequestStatus | None:
    req = session.get(PrivacyDisclosureRequest, request_id)
    if req is None:
        return None
    replies = list(session.scalars(select(PrivacyDisclosureReply).where(
        PrivacyDisclosureReply.request_id == request_id)))
    return _status(req, replies, now)


def _ask(session: Any, c: Casework, req: Requester, child_id: str, ref: str, deleted: bool,
         now: datetime) -> PrivacyDisclosureRequest:
    """The request row and, in the same transaction, its message for privacy.disclosures.v1 (the worker's relay
    publishes it; linkage and scoring answer on privacy.disclosure_replies.v1)."""
    row = PrivacyDisclosureRequest(
        request_id=str(uuid.uuid4()), child_id=child_id, request_ref=ref, requested_at=now,
        requested_by=req.principal.user_id, services=list(ANSWERING), deleted=deleted,
        deadline_at=now + timedelta(minutes=c.settings.disclosure_reply_wait_minutes))
    session.add(row)
    event = DisclosureRequestV1(request_id=row.request_id, child_id=child_id, requested_at=now.isoformat(),
                                services=list(ANSWERING))
    session.add(OutboxMessage(topic=c.settings.topic(REQUEST_TOPIC.name), key=child_id, created_at=now,
                              payload=json.dumps(envelope_dict(data=event, type_=REQUEST_EVENT_TYPE, source=SOURCE,
                                                               subject=child_id, event_id=row.request_id, time=now),
                                                 ensure_ascii=False)))
    return row


def request(c: Casework, *, username: str, child_id: str, request_ref: str | None,
            client: str | None = CLI_CLIENT) -> RequestStatus:
    """A privacy officer's disclosure request: recorded, sent to linkage and scoring, audited
    (``disclosure_request``). The child must be known to casework, or deleted on request before (then casework
    holds nothing and the services are asked whether they still do)."""
    now = c.clock()
    child_id = (child_id or "").strip()
    try:
        with c.sessions.begin() as session:
            req = requester(session, username, Permission.DISCLOSE, client)
            ref = stated(request_ref, "受付番号", "no_request_ref", minimum=1, maximum=64)
            child = session.get(Child, child_id) if child_id else None
            deleted = child is None and bool(child_id) and session.scalars(select(PrivacyDeletion.request_id).where(
                PrivacyDeletion.subject_hash == forgotten_hash(child_id)).limit(1)).first() is not None
            if (child is None or child.status == "merged") and not deleted:
                raise Refused("unknown_person", "該当する児童の記録はありません (no such person in casework)")
            row = _ask(session, c, req, child_id, ref, deleted, now)
            audit_log.append(session, req.actor, "disclosure_request", now, child_id=child_id, target=row.request_id,
                             ward_code=child.ward_code if child else None,
                             detail=f"ref={ref} asked={','.join(ANSWERING)}{' deleted=yes' if deleted else ''}")
            return _status(row, [], now)
    except Refused as exc:
        refuse_audited(c.sessions, username, "disclosure_request", exc, now, child_id=child_id[:64] or None,
                       client=client)
        raise


def requests(c: Casework, *, username: str, client: str | None = CLI_CLIENT, limit: int = 200) -> list[RequestStatus]:
    """The disclosure requests, newest first, with each service's part (for the privacy officer's list)."""
    now = c.clock()
    try:
        with c.sessions() as session:
            requester(session, username, Permission.DISCLOSE, client)
    except Refused as exc:
        refuse_audited(c.sessions, username, "view_disclosures", exc, now, client=client)
        raise
    with c.sessions() as session:
        rows = list(session.scalars(select(PrivacyDisclosureRequest)
                                    .order_by(PrivacyDisclosureRequest.requested_at.desc()).limit(limit)))
        replies = list(session.scalars(select(PrivacyDisclosureReply).where(
            PrivacyDisclosureReply.request_id.in_([r.request_id for r in rows])))) if rows else []
        return [_status(r, [x for x in replies if x.request_id == r.request_id], now) for r in rows]


def store_reply(uow: AbstractUnitOfWork, reply: DisclosureReplyV1, now: datetime) -> str:
    """A service's answer (the worker): kept once per request and service; refused when it names no request of
    ours, a service not asked, or another child than the request's (nothing of another child is ever kept)."""
    asked = uow.disclosures.request(reply.request_id)
    if asked is None:
        return "unknown_request"
    if reply.child_id != asked.child_id:
        return "wrong_child"
    if reply.service not in asked.services:
        return "not_asked"
    if uow.disclosures.has_reply(reply.request_id, reply.service):
        return "duplicate"
    uow.disclosures.add_reply(reply.request_id, reply.service, answered_at=_aware(reply.answered_at),
                              held=reply.held, payload=reply.model_dump(mode="json"), received_at=now)
    return "stored"


def _aware(value: str) -> datetime:
    at = datetime.fromisoformat(value)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _labelled(part: Part) -> dict[str, Any]:
    """A service's answer made readable: facts by date with their system, kind and whose they are; entries by
    section."""
    reply = part.reply or {}
    facts = sorted(reply.get("facts") or [], key=lambda f: f.get("record_date") or f.get("valid_from") or "")
    rows = [{"system": SOURCE_SYSTEM_LABELS.get(f.get("source_system") or "", f.get("source_system") or ""),
             "kind": FACT_KIND_LABELS.get(f.get("kind") or "", f.get("kind") or ""),
             "relation": RELATION_LABELS.get(f.get("relation") or "", f.get("relation") or ""),
             "third_party": (f.get("relation") or "self") != "self",
             "record_date": f.get("record_date") or "", "valid_from": f.get("valid_from") or "",
             "valid_to": f.get("valid_to") or "",
             "attributes": [(k, v) for k, v in (f.get("attributes") or {}).items() if v not in (None, "")]}
            for f in facts]
    sections: dict[str, list[tuple[str, str]]] = {}
    for entry in reply.get("entries") or []:
        sections.setdefault(entry.get("section") or "", []).append((entry.get("label") or "", entry.get("value") or ""))
    return {"part": part, "facts": rows, "sections": sections, "omitted": int(reply.get("omitted_facts") or 0)}


def disclose(c: Casework, *, username: str, out: Path, child_id: str | None = None, request_ref: str | None = None,
             request_id: str | None = None, pdf: bool = True, client: str | None = CLI_CLIENT) -> DisclosureResult:
    """The report. With ``child_id`` and ``request_ref``: a new request (``request``), and the report at once —
    casework's part complete, linkage's and scoring's 「未回答」 until they answer. With ``request_id``: the report of
    that request again, with the answers received so far (produce it again once every part is in). Audited
    (``disclosure``: the report id, the 受付番号, the request and each part's state)."""
    now = c.clock()
    if request_id is None:
        asked = request(c, username=username, child_id=child_id or "", request_ref=request_ref, client=client)
        request_id = asked.request_id
        now = c.clock()
    report_id = str(uuid.uuid4())
    try:
        with c.sessions() as session:
            req = requester(session, username, Permission.DISCLOSE, client)
            status = status_of(session, (request_id or "").strip(), now)
            if status is None:
                raise Refused("unknown_request", "該当する開示請求はありません (no such disclosure request)")
            child = session.get(Child, status.child_id)
            if child is not None and child.status == "merged":
                child = None
            facts = gather(session, status.child_id, child)
            html = _env().get_template("disclosure.html").render(
                **facts, status=status, parts=[_labelled(p) for p in status.parts], now=now, ref=status.ref,
                report_id=report_id, officer=req.principal.username, ACTION_LABELS=ACTION_LABELS,
                OUTCOME_LABELS=OUTCOME_LABELS, WARDS=WARDS, SOURCE_LABELS=SOURCE_LABELS,
                ROLE_LABELS={r.value: label for r, label in ROLE_LABELS.items()} | {"system": "システム"})
    except Refused as exc:
        refuse_audited(c.sessions, username, "disclosure", exc, now, target=(request_id or "")[:160] or None,
                       client=client)
        raise
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / f"disclosure-{now.astimezone(JST):%Y%m%d}-{report_id[:8]}.html"
    html_path.write_text(html, encoding="utf-8")
    pdf_path = to_pdf(html_path) if pdf else None
    parts = " ".join(f"{p.service}={p.state}" for p in status.parts)
    with c.sessions.begin() as session:
        audit_log.append(session, req.actor, "disclosure", now, child_id=status.child_id, target=report_id,
                         ward_code=child.ward_code if child else None,
                         detail=f"ref={status.ref} request={status.request_id} {parts} "
                                f"accesses={len(facts['accesses'])} pdf={'yes' if pdf_path else 'no'}")
    return DisclosureResult(report_id, html_path, pdf_path, len(facts["accesses"]), status)


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
