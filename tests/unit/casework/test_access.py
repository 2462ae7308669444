"""Roles and ward scope: ward staff see their own ward only; roles without case duties see no child."""

from __future__ import annotations

import pytest

from services.casework.domain.access import Permission, Principal, Role, validate_user_fields

pytestmark = pytest.mark.unit


def user(role: Role, ward: str | None = None) -> Principal:
    return Principal(user_id="u", username="u", role=role, ward_code=ward)


def test_ward_staff_see_only_their_ward() -> None:
    staff = user(Role.WARD_STAFF, "40131")
    assert staff.sees_ward("40131")
    assert not staff.sees_ward("40132") and not staff.sees_ward(None)
    assert staff.ward_scope() == "40131"


def test_hq_sees_every_ward_but_records_no_steps() -> None:
    hq = user(Role.HQ_ADMIN)
    assert hq.sees_ward("40137") and hq.ward_scope() is None
    assert not hq.can(Permission.RECORD_STEP) and hq.can(Permission.ADMIN_USERS)


@pytest.mark.parametrize("role", [Role.ANALYST, Role.OPERATOR, Role.PRIVACY_OFFICER])
def test_roles_without_case_duties_see_no_child(role: Role) -> None:
    assert not user(role).sees_ward("40131")
    assert not user(role).can(Permission.EXPORT)


def test_only_the_privacy_officer_reads_the_audit_trail() -> None:
    assert [r for r in Role if user(r).can(Permission.VIEW_AUDIT)] == [Role.PRIVACY_OFFICER]


def test_child_guidance_bound_to_a_ward_sees_that_ward_only() -> None:
    assert user(Role.CHILD_GUIDANCE, "40133").sees_ward("40133")
    assert not user(Role.CHILD_GUIDANCE, "40133").sees_ward("40131")
    assert user(Role.CHILD_GUIDANCE).sees_ward("40131")


def test_user_fields_are_validated() -> None:
    with pytest.raises(ValueError):
        validate_user_fields("ward_staff", None)
    with pytest.raises(ValueError):
        validate_user_fields("superuser", None)
    with pytest.raises(ValueError):
        validate_user_fields("hq_admin", "99999")
    assert validate_user_fields("ward_staff", "40135") is Role.WARD_STAFF
