"""開示請求 from the privacy officer's page (issue 15), over SQLite and PostgreSQL with the real web app: a request
is taken from the form (queued for linkage and scoring, audited); the list shows each service's part (未回答, then
回答済み); the report downloads with the answers so far, complete once every part is in; a bad request re-shows the
form with a Japanese reason and records nothing but its refusal; other roles get 403 (audited)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from contracts.envelope import envelope_dict
from contracts.topics.privacy_disclosures import REPLY_EVENT_TYPE, DisclosureReplyV1, HeldFactV1
from services.casework.adapters.orm import AuditRecord, PrivacyDisclosureRequest
from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for
from tests.unit.casework.privacy_data import populate

pytestmark = pytest.mark.integration
CHILD = "pc-00003"


@pytest.fixture
def env(container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setattr(container.settings, "extract_dir", tmp_path / "extracts")
    for name, role in (("privacy", "privacy_officer"), ("higashi", "ward_staff"), ("hq", "hq_admin")):
        add_user(container, name, role, "40131" if role == "ward_staff" else None)
    populate(container, n=6)
    return container


def _answer(c: Container, request_id: str, service: str, held: bool) -> None:
    reply = DisclosureReplyV1(request_id=request_id, child_id=CHILD, service=service,  # type: ignore[arg-type]
                              answered_at=c.clock().isoformat(), held=held,
                              facts=[HeldFactV1(source_system="school_lunch_fees", kind="lunch_arrears",
                                                relation="household", record_date="2026-03-31",
                                                attributes={"months": 4})] if held else [])
    value = json.dumps(envelope_dict(data=reply, type_=REPLY_EVENT_TYPE, source="/t", subject=CHILD)).encode()
    assert WorkerHandlers(c).process("disclosure_reply", value, where="t").outcome == "stored"


def _actions(c: Container) -> list[tuple[str, str]]:
    with c.sessions() as s:
        actions = ["disclosure_request", "disclosure", "view_disclosures"]
        return [(a.action, a.outcome) for a in s.scalars(select(AuditRecord).where(
            AuditRecord.action.in_(actions)).order_by(AuditRecord.seq))]


def test_the_privacy_officer_requests_follows_the_answers_and_downloads_the_report(env: Container) -> None:
    officer = client_for(env, "privacy")
    page = officer.get("/privacy/disclosures")
    assert page.status_code == 200 and 'action="/privacy/disclosures"' in page.text
    assert "開示請求はありません" in page.text
    assert not re.search(r"(src|href)=\"(https?:)?//", page.text)  # nothing loaded from outside the machine
    token = officer.headers["X-CSRF-Token"]
    sent = officer.post("/privacy/disclosures", data={"child_id": CHILD, "request_ref": "R7-900", "csrf_token": token},
                        follow_redirects=False)
    assert sent.status_code == 303, sent.text
    request_id = re.fullmatch(r"/privacy/disclosures\?created=([0-9a-f-]{36})", sent.headers["location"]).group(1)  # type: ignore[union-attr]
    listed = officer.get(sent.headers["location"])
    assert "開示請求を受け付けました" in listed.text and "R7-900" in listed.text
    assert listed.text.count('data-state="pending"') == 2 and "報告書（未完成：未回答あり）" in listed.text

    first = officer.get(f"/privacy/disclosures/{request_id}/report")
    assert first.status_code == 200 and "attachment" in first.headers["content-disposition"]
    assert "未完成" in first.text and "試験 太郎3" in first.text
    _answer(env, request_id, "linkage", True)
    _answer(env, request_id, "scoring", False)
    listed = officer.get("/privacy/disclosures")
    assert listed.text.count('data-state="answered"') == 2 and "報告書（完成）" in listed.text
    done = officer.get(f"/privacy/disclosures/{request_id}/report")
    assert "未完成" not in done.text and "給食費の滞納" in done.text and "2026-03-31" in done.text
    assert "保有している情報はありません" in done.text  # scoring's part
    assert officer.get("/privacy/disclosures/no-such-request/report").status_code == 404
    assert [a for a in _actions(env) if a[0] != "view_disclosures"] == [
        ("disclosure_request", "ok"), ("disclosure", "ok"), ("disclosure", "ok"), ("disclosure", "denied")]


def test_bad_requests_and_other_roles_are_refused_and_change_nothing(env: Container) -> None:
    officer = client_for(env, "privacy")
    token = officer.headers["X-CSRF-Token"]
    for form in ({"child_id": "no-such-child", "request_ref": "R"}, {"child_id": CHILD, "request_ref": ""}):
        refused = officer.post("/privacy/disclosures", data={**form, "csrf_token": token}, follow_redirects=False)
        assert refused.status_code == 400 and "受け付けできませんでした" in refused.text
    for user in ("higashi", "hq"):
        other = client_for(env, user)
        assert other.get("/privacy/disclosures").status_code == 403
        assert other.post("/privacy/disclosures", data={"child_id": CHILD, "request_ref": "R",
                                                        "csrf_token": other.headers["X-CSRF-Token"]},
                          follow_redirects=False).status_code == 403
    with env.sessions() as s:
        assert s.scalars(select(PrivacyDisclosureRequest)).first() is None
    denied = [a for a in _actions(env) if a[1] == "denied"]
    assert len(denied) == 6
