"""How each source event type becomes a source fact: its kind, how it reaches children, its stable key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.linkage.domain.model import Scope

Attrs = dict[str, Any]
KeyFn = Callable[[Attrs, dict[str, list[str]]], str | None]


@dataclass(frozen=True)
class FactSpec:
    kind: str
    scope: Scope
    key: KeyFn  # (attributes, person keys by role) → the source fact's stable key
    ends: bool = False  # an "ended" event: updates the same fact's valid_to


def _first(refs: dict[str, list[str]], *roles: str) -> str | None:
    for role in roles:
        if refs.get(role):
            return refs[role][0]
    return None


def _attr(*names: str) -> KeyFn:
    def key(attrs: Attrs, refs: dict[str, list[str]]) -> str | None:
        values = [attrs.get(n) for n in names]
        return "|".join(str(v) for v in values) if all(v is not None for v in values) else None
    return key


def _with_ref(roles: tuple[str, ...], *names: str) -> KeyFn:
    def key(attrs: Attrs, refs: dict[str, list[str]]) -> str | None:
        ref = _first(refs, *roles)
        rest = _attr(*names)(attrs, refs) if names else ""
        return None if ref is None or rest is None else f"{ref}|{rest}"
    return key


_ELIGIBILITY = _attr("entitlement_id")
_SUBJECT = ("subject", "child")

SPECS: dict[str, FactSpec] = {
    "public_assistance.case.started": FactSpec("public_assistance", "household", _attr("case_no")),
    "public_assistance.case.ended": FactSpec("public_assistance", "household", _attr("case_no"), ends=True),
    "maternal_child_health.pregnancy.notified": FactSpec("pregnancy_notified", "mother", _attr("pregnancy_id")),
    "maternal_child_health.prenatal_checkup.visited": FactSpec(
        "prenatal_checkup", "mother", _attr("pregnancy_id", "visit_date")),
    "maternal_child_health.birth.recorded": FactSpec("birth", "self", _with_ref(("child",))),
    "maternal_child_health.postpartum_checkup.recorded": FactSpec(
        "postpartum_checkup", "mother", _with_ref(("mother",), "checkup_date")),
    "maternal_child_health.infant_checkup.recorded": FactSpec(
        "infant_checkup", "self", _with_ref(("child",), "checkup")),
    "child_allowance.eligibility.started": FactSpec("allowance", "guardian", _ELIGIBILITY),
    "child_allowance.eligibility.ended": FactSpec("allowance", "guardian", _ELIGIBILITY, ends=True),
    "special_child_allowance.eligibility.started": FactSpec("special_allowance", "guardian", _ELIGIBILITY),
    "special_child_allowance.eligibility.ended": FactSpec("special_allowance", "guardian", _ELIGIBILITY, ends=True),
    "single_parent_loans.loan.granted": FactSpec("single_parent_loan", "guardian", _ELIGIBILITY),
    "single_parent_loans.loan.ended": FactSpec("single_parent_loan", "guardian", _ELIGIBILITY, ends=True),
    "school_aid.aid.started": FactSpec("school_aid", "guardian", _ELIGIBILITY),
    "school_aid.aid.ended": FactSpec("school_aid", "guardian", _ELIGIBILITY, ends=True),
    "medical_subsidy.eligibility.started": FactSpec("medical_subsidy", "guardian", _ELIGIBILITY),
    "medical_subsidy.eligibility.ended": FactSpec("medical_subsidy", "guardian", _ELIGIBILITY, ends=True),
    "childcare.enrolment.started": FactSpec("childcare", "self", _with_ref(_SUBJECT, "facility_code")),
    "childcare.enrolment.ended": FactSpec("childcare", "self", _with_ref(_SUBJECT, "facility_code"), ends=True),
    "disability.certificate.issued": FactSpec("disability_certificate", "self", _attr("certificate_no")),
    "disability.certificate.ended": FactSpec("disability_certificate", "self", _attr("certificate_no"), ends=True),
    "long_term_care.certification.started": FactSpec("household_care", "household", _attr("insured_no")),
    "long_term_care.certification.ended": FactSpec("household_care", "household", _attr("insured_no"), ends=True),
    "school_students.student.registered": FactSpec("school_enrolment", "self", _with_ref(_SUBJECT)),
    "school_students.student.changed": FactSpec("school_enrolment", "self", _with_ref(_SUBJECT)),
    "school_students.student.left": FactSpec("school_enrolment", "self", _with_ref(_SUBJECT), ends=True),
    "school_affairs.attendance.reported": FactSpec(
        "attendance", "self", _with_ref(_SUBJECT, "school_year", "month")),
    "school_affairs.health_checkup.recorded": FactSpec(
        "school_health_checkup", "self", _with_ref(_SUBJECT, "checkup_date")),
    "school_surveys.survey.answered": FactSpec("survey", "self", _with_ref(_SUBJECT, "survey", "answered_date")),
    "school_lunch_fees.arrears.reported": FactSpec("lunch_arrears", "self", _with_ref(_SUBJECT)),
    "child_guidance.involvement.started": FactSpec(
        "child_guidance", "self", _attr("case_no", "involvement")),
    "child_guidance.involvement.ended": FactSpec(
        "child_guidance", "self", _attr("case_no", "involvement"), ends=True),
}

START_FIELDS = ("start_date", "issue_date", "notification_date", "visit_date", "checkup_date", "answered_date",
                "as_of", "birth_date")
END_FIELDS = ("end_date", "left_date")
# identifiers of persons stay out of facts: facts are keyed by child id
PRIVATE_ATTRIBUTES = ("atena_no", "head_atena_no", "mother_atena_no", "child_atena_no", "recipient_atena_no",
                      "covered_atena_nos", "student_id", "name_kanji", "name_kana", "address")


def fact_attributes(attrs: Attrs) -> Attrs:
    return {k: v for k, v in attrs.items() if k not in PRIVATE_ATTRIBUTES and not isinstance(v, (list, dict))}


def start_of(attrs: Attrs, record_date: str | None) -> str | None:
    return next((attrs[f] for f in START_FIELDS if attrs.get(f)), record_date)


def end_of(attrs: Attrs, record_date: str | None) -> str | None:
    return next((attrs[f] for f in END_FIELDS if attrs.get(f)), record_date)
