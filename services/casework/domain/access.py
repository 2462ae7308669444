"""Roles from the brief and what each may do; ward scope is checked on every object, not only in menus."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.vocabulary import WARDS as WARDS  # re-exported: the ward names the web layer shows


class Role(StrEnum):
    HQ_ADMIN = "hq_admin"  # 総括管理主体 (こども家庭課)
    WARD_STAFF = "ward_staff"  # 活用主体: 区の子育て支援課・地域保健福祉課・健康課
    CHILD_GUIDANCE = "child_guidance"  # 児童相談所
    ANALYST = "analyst"  # 分析主体: masked extracts only, nothing here
    PRIVACY_OFFICER = "privacy_officer"  # プライバシー保護責任者
    OPERATOR = "operator"  # city IT


ROLE_LABELS = {
    Role.HQ_ADMIN: "総括管理（こども家庭課）", Role.WARD_STAFF: "区職員", Role.CHILD_GUIDANCE: "児童相談所",
    Role.ANALYST: "分析主体", Role.PRIVACY_OFFICER: "プライバシー保護責任者", Role.OPERATOR: "運用担当",
}


class Permission(StrEnum):
    VIEW_CASES = "view_cases"
    RECORD_STEP = "record_step"
    EXPORT = "export"
    REVIEW_LINKAGE = "review_linkage"
    ADMIN_USERS = "admin_users"
    VIEW_AUDIT = "view_audit"
    # the person's rights and masked analysis (issue 15, docs/privacy.md); command line, extracts also on the HQ page
    MASKED_EXTRACT = "masked_extract"  # 仮名加工情報 for the analysis body: produce, download its files
    MANAGE_EXTRACT_KEYS = "manage_extract_keys"  # the register; destroy an extract's key, confirm partner deletion
    DISCLOSE = "disclose"  # 開示
    DELETE_PERSON = "delete_person"  # 削除
    OPT_OUT = "opt_out"  # 利用停止
    # 利用者アンケート (issue 16): the people who work the list answer; HQ runs the rounds and reads the tallies
    ANSWER_SURVEY = "answer_survey"
    MANAGE_SURVEY = "manage_survey"
    # 報告書 (issue 16): evaluation's reports. Every one: HQ only; a ward's own weekly documents (scope = its
    # ward code): that ward's staff (domain/reports.py says why)
    DOWNLOAD_REPORTS = "download_reports"
    DOWNLOAD_WARD_REPORTS = "download_ward_reports"
    # 区が未確定の対象者: flagged children whose listing is held for want of a ward (docs/casework.md); HQ only
    VIEW_HELD = "view_held"
    # 判定ルールの版の採用 (issue 16): a separate, audited act of こども家庭課 (service_layer/rule_adoption.py)
    ADOPT_RULES = "adopt_rules"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.HQ_ADMIN: frozenset({Permission.VIEW_CASES, Permission.EXPORT, Permission.REVIEW_LINKAGE,
                              Permission.ADMIN_USERS, Permission.MASKED_EXTRACT, Permission.MANAGE_EXTRACT_KEYS,
                              Permission.OPT_OUT, Permission.MANAGE_SURVEY,
                              Permission.DOWNLOAD_REPORTS, Permission.VIEW_HELD, Permission.ADOPT_RULES}),
    Role.WARD_STAFF: frozenset({Permission.VIEW_CASES, Permission.RECORD_STEP, Permission.EXPORT,
                                Permission.ANSWER_SURVEY, Permission.DOWNLOAD_WARD_REPORTS}),
    Role.CHILD_GUIDANCE: frozenset({Permission.VIEW_CASES, Permission.RECORD_STEP, Permission.ANSWER_SURVEY}),
    Role.ANALYST: frozenset(),
    Role.PRIVACY_OFFICER: frozenset({Permission.VIEW_AUDIT, Permission.MANAGE_EXTRACT_KEYS, Permission.DISCLOSE,
                                     Permission.DELETE_PERSON, Permission.OPT_OUT}),
    Role.OPERATOR: frozenset(),
}
# Which accounts a role may create, activate and deactivate on the web (separation of duties, docs/security.md):
# HQ runs the wards' staff and the accounts without case access; it cannot make or unmake the people who check
# it (privacy officers), give itself a second pair of hands with case-recording power in every ward
# (child_guidance) or create more HQ admins. Those are created with the CLI by operators under the city's
# change procedure (audited as actor "cli"). Nobody changes their own account.
USER_GRANTS: dict[Role, frozenset[Role]] = {
    Role.HQ_ADMIN: frozenset({Role.WARD_STAFF, Role.ANALYST, Role.OPERATOR}),
}


def may_manage(granter: Role, target: Role) -> bool:
    return target in USER_GRANTS.get(granter, frozenset())


# Roles bound to one ward; the others see every ward their permissions allow.
WARD_BOUND = frozenset({Role.WARD_STAFF})


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: Role
    ward_code: str | None
    division: str | None = None

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS[self.role]

    def sees_ward(self, ward_code: str | None) -> bool:
        """Whether this user may see a child or alert of ``ward_code``."""
        if not self.can(Permission.VIEW_CASES):
            return False
        if self.role in WARD_BOUND or (self.role == Role.CHILD_GUIDANCE and self.ward_code):
            return ward_code is not None and ward_code == self.ward_code
        return True

    def ward_scope(self) -> str | None:
        """The one ward a list must be restricted to, or None for every ward."""
        if self.role in WARD_BOUND or (self.role == Role.CHILD_GUIDANCE and self.ward_code):
            return self.ward_code
        return None


class AccessDenied(Exception):
    """The user may not do this; the attempt is audited."""


def validate_user_fields(role: str, ward_code: str | None) -> Role:
    try:
        parsed = Role(role)
    except ValueError:
        raise ValueError(f"unknown role; choose one of {', '.join(r.value for r in Role)}") from None
    if parsed in WARD_BOUND and ward_code not in WARDS:
        raise ValueError("ward staff need a ward code (40131-40137)")
    if ward_code is not None and ward_code not in WARDS:
        raise ValueError("unknown ward code (40131-40137)")
    return parsed
