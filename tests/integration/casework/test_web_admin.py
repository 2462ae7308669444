"""HQ's user admin and clerical review, the privacy officer's audit page, and tamper detection."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from services.casework.adapters.orm import AuditRecord, OutboxMessage
from services.casework.bootstrap import Container
from services.casework.entrypoints import cli
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import raw, review_event

pytestmark = pytest.mark.integration


def test_hq_creates_users_and_ward_staff_cannot(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    add_user(pg_container, "higashi", "ward_staff", "40131")
    hq = client_for(pg_container, "hq")
    created = hq.post("/api/users", json={"username": "nishi2", "password": "long-enough-pw", "role": "ward_staff",
                                          "ward_code": "40135"})
    assert created.status_code == 201
    assert hq.post("/api/users", json={"username": "x", "password": "long-enough-pw", "role": "ward_staff"}
                   ).status_code == 422  # ward staff need a ward
    assert "nishi2" in hq.get("/admin/users").text
    staff = client_for(pg_container, "higashi")
    assert staff.get("/admin/users").status_code == 403
    assert staff.post("/api/users", json={"username": "evil", "password": "long-enough-pw",
                                          "role": "hq_admin"}).status_code == 403
    user_id = created.json()["user_id"]
    assert hq.post(f"/api/users/{user_id}/active?active=false").json() == {"active": False}


def test_clerical_review_decisions_go_to_linkage(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    add_user(pg_container, "higashi", "ward_staff", "40131")
    WorkerHandlers(pg_container).process("review", raw(review_event("rv-1")), where="t")
    hq = client_for(pg_container, "hq")
    assert "ﾌｸｵｶ ﾊﾅｺ" in hq.get("/reviews").text
    assert client_for(pg_container, "higashi").get("/api/reviews").status_code == 403
    decided = hq.post("/api/reviews/rv-1/decision", json={"decision": "must_link", "reason": "生年月日と住所が一致"})
    assert decided.status_code == 200
    assert hq.post("/api/reviews/rv-1/decision", json={"decision": "cannot_link", "reason": "x"}).status_code == 409
    with pg_container.sessions() as s:
        [msg] = s.scalars(select(OutboxMessage).where(OutboxMessage.topic == "linkage.decisions.v1"))
    data = json.loads(msg.payload)["data"]
    assert (data["review_id"], data["decision"], data["record_id"], data["person_id"]) == (
        "rv-1", "must_link", "rec-1", "p-1")
    assert hq.get("/api/reviews").json() == []


def test_privacy_officer_reads_the_trail_and_tampering_is_detected(
        pg_container: Container, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(pg_container, "privacy", "privacy_officer")
    add_user(pg_container, "higashi", "ward_staff", "40131")
    seed_child(pg_container, "c-1", "40131")
    staff = client_for(pg_container, "higashi")
    staff.get("/children/c-1")
    staff.get("/export.csv")
    officer = client_for(pg_container, "privacy")
    page = officer.get("/audit").text
    assert "改ざんは検出されませんでした" in page and "児童情報の閲覧" in page and "対象者リストのCSV出力" in page
    assert officer.get("/children/c-1").status_code == 403
    audit_csv = officer.get("/audit.csv").content.decode("utf-8-sig")
    assert audit_csv.splitlines()[0].startswith("seq,at,user_id")
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(pg_container.settings.database_url))
    assert cli.main(["verify-audit"]) == 0
    with pg_container.sessions.begin() as s:  # someone edits the log behind the application's back
        s.execute(text("UPDATE audit_log SET child_id = 'c-other' WHERE action = 'view_child'"))
    assert cli.main(["verify-audit"]) == 1
    assert "AUDIT TRAIL BROKEN" in capsys.readouterr().out
    assert "改ざんの可能性があります" in officer.get("/audit").text


def test_a_deleted_audit_entry_is_detected(pg_container: Container) -> None:
    add_user(pg_container, "privacy", "privacy_officer")
    add_user(pg_container, "higashi", "ward_staff", "40131")
    seed_child(pg_container, "c-1", "40131")
    client_for(pg_container, "higashi").get("/children/c-1")
    officer = client_for(pg_container, "privacy")
    assert officer.get("/api/audit").json()["verified"]
    with pg_container.sessions.begin() as s:
        seq = s.scalar(select(AuditRecord.seq).where(AuditRecord.action == "view_child"))
        s.execute(text("DELETE FROM audit_log WHERE seq = :seq"), {"seq": seq})
    assert officer.get("/api/audit").json()["verified"] is False
