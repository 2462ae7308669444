"""Ward isolation, CSRF and sessions, checked over HTTP against the real app and database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord
from services.casework.bootstrap import Container
from tests.integration.casework.web import add_user, client_for, login, seed_child

pytestmark = pytest.mark.integration


@pytest.fixture
def two_wards(pg_container: Container) -> dict[str, str]:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    add_user(pg_container, "hakata", "ward_staff", "40132")
    return {"east": seed_child(pg_container, "c-east", "40131", name="東 太郎"),
            "hakata": seed_child(pg_container, "c-hakata", "40132", name="博多 次郎")}


def denied_entries(container: Container) -> list[AuditRecord]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied").order_by(AuditRecord.seq)))


def test_ward_staff_list_only_their_ward(pg_container: Container, two_wards: dict[str, str]) -> None:
    client = client_for(pg_container, "higashi")
    assert [a["child_id"] for a in client.get("/api/alerts").json()] == ["c-east"]
    page = client.get("/").text
    assert "東 太郎" in page and "博多 次郎" not in page
    csv_text = client.get("/export.csv").content.decode("utf-8-sig")
    assert "c-east" in csv_text and "c-hakata" not in csv_text
    assert "c-hakata" not in client.get("/api/export.csv").content.decode("utf-8-sig")


def test_another_wards_child_is_denied_everywhere_and_each_attempt_is_audited(
        pg_container: Container, two_wards: dict[str, str]) -> None:
    client = client_for(pg_container, "higashi")
    attempts = [
        client.get("/api/children/c-hakata"),
        client.get("/children/c-hakata"),
        client.get("/api/children/no-such-child"),
        client.post(f"/api/cases/{two_wards['hakata']}/steps",
                    json={"action": "二次スクリーニング", "result": "非該当", "reason": "x"}),
        client.post(f"/cases/{two_wards['hakata']}/steps", data={
            "csrf_token": client.headers["X-CSRF-Token"], "action": "二次スクリーニング", "result": "非該当",
            "reason": "x"}),
    ]
    assert [r.status_code for r in attempts] == [403] * 5
    assert "博多 次郎" not in "".join(r.text for r in attempts)
    entries = denied_entries(pg_container)
    assert [(e.action, e.child_id or e.target) for e in entries] == [
        ("view_child", "c-hakata"), ("view_child", "c-hakata"), ("view_child", "no-such-child"),
        ("record_step", two_wards["hakata"]), ("record_step", two_wards["hakata"])]
    assert all(e.role == "ward_staff" and e.client for e in entries)


def test_roles_without_case_duties_cannot_list_or_export(pg_container: Container,
                                                         two_wards: dict[str, str]) -> None:
    add_user(pg_container, "analyst1", "analyst")
    client = client_for(pg_container, "analyst1")
    assert client.get("/api/alerts").status_code == 403
    assert client.get("/export.csv").status_code == 403
    assert client.get("/api/children/c-east").status_code == 403
    assert len(denied_entries(pg_container)) == 3


def test_state_changes_need_the_sessions_csrf_token(pg_container: Container, two_wards: dict[str, str]) -> None:
    client = client_for(pg_container, "higashi")
    body = {"action": "二次スクリーニング", "result": "保留", "reason": "世帯状況を確認中"}
    url = f"/api/cases/{two_wards['east']}/steps"
    token = client.headers["X-CSRF-Token"]
    client.headers["X-CSRF-Token"] = "forged"
    assert client.post(url, json=body).status_code == 403
    del client.headers["X-CSRF-Token"]
    assert client.post(url, json=body).status_code == 403
    form = {"action": "二次スクリーニング", "result": "保留", "reason": "x"}
    assert client.post(f"/cases/{two_wards['east']}/steps", data=form).status_code == 403
    assert client.post(url, json=body, headers={"X-CSRF-Token": token}).json()["status"] == "保留"
    other = client_for(pg_container, "hakata")  # a token from another session is no good either
    client.headers["X-CSRF-Token"] = other.headers["X-CSRF-Token"]
    assert client.post(url, json={**body, "result": "非該当"}).status_code == 403


def test_sessions_end_after_idle_and_absolute_timeouts(pg_container: Container, two_wards: dict[str, str]) -> None:
    clock = pg_container.clock
    client = client_for(pg_container, "higashi")
    clock.advance(minutes=29)  # type: ignore[attr-defined]
    assert client.get("/api/alerts").status_code == 200
    clock.advance(minutes=31)  # type: ignore[attr-defined]
    assert client.get("/api/alerts").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    login(client, "higashi")
    for _ in range(20):  # active all day, never idle for long ...
        clock.advance(minutes=29)  # type: ignore[attr-defined]
        assert client.get("/api/alerts").status_code == 200
    clock.advance(minutes=29)  # type: ignore[attr-defined]
    assert client.get("/api/alerts").status_code == 401  # ... but 10 hours after login it ends


def test_wrong_passwords_slow_that_client_down_and_are_audited(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    client = client_for(pg_container)
    for _ in range(5):
        wrong = client.post("/api/session", json={"username": "higashi", "password": "wrong-password"})
        assert wrong.status_code == 401
    right = client.post("/api/session", json={"username": "higashi", "password": "correct horse battery"})
    assert right.status_code == 401 and "しばらく" in right.json()["detail"]
    pg_container.clock.advance(minutes=16)  # type: ignore[attr-defined]
    login(client, "higashi")
    with pg_container.sessions() as s:
        failed = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "login",
                                                          AuditRecord.outcome == "failed")))
    assert len(failed) == 6 and {e.target for e in failed} == {"username=higashi"}


def test_security_headers_on_every_page(pg_container: Container) -> None:
    response = client_for(pg_container).get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in response.text and " style=" not in response.text


def test_logout_ends_the_session_on_the_server(pg_container: Container, two_wards: dict[str, str]) -> None:
    client = client_for(pg_container, "higashi")
    stolen = client.cookies.get("tsunagu_session")
    assert client.delete("/api/session").status_code == 204
    replay = client_for(pg_container)
    replay.cookies.set("tsunagu_session", stolen or "")
    assert replay.get("/api/alerts").status_code == 401


def test_openapi_describes_every_ui_action_and_docs_need_no_cdn(pg_container: Container) -> None:
    client = client_for(pg_container)
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/session", "/api/alerts", "/api/alerts/stream", "/api/children/{child_id}",
                 "/api/cases/{alert_id}/steps", "/api/export.csv", "/api/users", "/api/reviews/{review_id}/decision",
                 "/api/audit", "/cases/{alert_id}/steps", "/reviews/{review_id}/decision", "/admin/users"):
        assert path in paths, path
    docs = client.get("/docs").text
    assert "/api/cases/{alert_id}/steps" in docs and "cdn" not in docs.lower() and "https://" not in docs


def test_after_a_move_the_old_ward_no_longer_sees_the_child(pg_container: Container) -> None:
    from services.casework.service_layer.worker import WorkerHandlers
    from tests.unit.casework.factories import profile_event, raw

    add_user(pg_container, "higashi", "ward_staff", "40131")
    add_user(pg_container, "nishi", "ward_staff", "40135")
    seed_child(pg_container, "c-move", "40131", name="転居 花子")
    WorkerHandlers(pg_container).process("profile", raw(profile_event("c-move", "40135", name="転居 花子")),
                                         where="t")
    east, west = client_for(pg_container, "higashi"), client_for(pg_container, "nishi")
    assert [a["status"] for a in east.get("/api/alerts").json()] == ["移管"]
    assert "他区へ移管" in east.get("/").text
    assert east.get("/api/children/c-move").status_code == 403
    moved = west.get("/api/children/c-move").json()
    assert [(a["ward_code"], a["reason"]) for a in moved["alerts"]] == [("40135", "moved_ward")]
