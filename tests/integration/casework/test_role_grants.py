"""Role grants follow the matrix in docs/security.md: separation of duties between HQ and privacy officers."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, User
from services.casework.bootstrap import Container
from services.casework.domain.access import USER_GRANTS, Role, may_manage
from tests.integration.casework.web import add_user, client_for, seed_child

pytestmark = pytest.mark.integration
STRONG = "kuro-neko-hashiru-2026-yoru"


def user_id(container: Container, username: str) -> str:
    with container.sessions() as s:
        return s.scalars(select(User.user_id).where(User.username == username)).one()


@pytest.mark.parametrize("role", ["privacy_officer", "child_guidance", "hq_admin"])
def test_hq_cannot_create_privacy_officers_child_guidance_or_more_hq(pg_container: Container, role: str) -> None:
    add_user(pg_container, "hq", "hq_admin")
    hq = client_for(pg_container, "hq")
    response = hq.post("/api/users", json={"username": "new1", "password": STRONG, "role": role})
    assert response.status_code == 403
    form = hq.post("/admin/users", data={"csrf_token": hq.headers["X-CSRF-Token"], "username": "new2",
                                         "password": STRONG, "role": role}, follow_redirects=False)
    assert form.status_code == 303 and "error=" in form.headers["location"]
    with pg_container.sessions() as s:
        assert s.scalars(select(User).where(User.username.in_(["new1", "new2"]))).first() is None
        denied = list(s.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied")))
    assert [(e.action, e.detail) for e in denied] == [("create_user", "grant_role")] * 2


def test_hq_cannot_deactivate_the_privacy_officer(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    add_user(pg_container, "privacy", "privacy_officer")
    hq = client_for(pg_container, "hq")
    officer = user_id(pg_container, "privacy")
    assert hq.post(f"/api/users/{officer}/active?active=false").status_code == 403
    with pg_container.sessions() as s:
        assert s.get(User, officer).active  # type: ignore[union-attr]
    assert client_for(pg_container, "privacy").get("/api/audit").status_code == 200


def test_hq_still_manages_ward_staff_and_the_form_offers_only_grantable_roles(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    hq = client_for(pg_container, "hq")
    created = hq.post("/api/users", json={"username": "nishi2", "password": STRONG, "role": "ward_staff",
                                          "ward_code": "40135"})
    assert created.status_code == 201
    assert hq.post(f"/api/users/{created.json()['user_id']}/active?active=false").json() == {"active": False}
    page = hq.get("/admin/users").text
    assert 'value="ward_staff"' in page and 'value="privacy_officer"' not in page
    assert 'value="child_guidance"' not in page


def test_a_privacy_officer_reads_no_child_data(pg_container: Container) -> None:
    add_user(pg_container, "privacy", "privacy_officer")
    seed_child(pg_container, "c-1", "40131", name="秘密 花子")
    officer = client_for(pg_container, "privacy")
    responses = [officer.get(path) for path in ("/api/alerts", "/api/children/c-1", "/children/c-1",
                                                "/export.csv", "/api/export.csv", "/api/alerts/stream")]
    assert [r.status_code for r in responses] == [403] * 6
    assert all("秘密" not in r.text for r in responses)
    assert officer.post("/api/users", json={"username": "p2", "password": STRONG, "role": "privacy_officer"}
                        ).status_code == 403


def test_the_matrix_grants_nothing_beyond_hq_and_nothing_privileged() -> None:
    assert set(USER_GRANTS) == {Role.HQ_ADMIN}
    for privileged in (Role.HQ_ADMIN, Role.PRIVACY_OFFICER, Role.CHILD_GUIDANCE):
        assert not any(may_manage(granter, privileged) for granter in Role)
