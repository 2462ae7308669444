"""A valid example event for every source event type: for vendors (``--print``), tests and benchmarks.

    python -m services.ingest.entrypoints.examples resident_registry.person.registered
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from contracts.sources import SOURCE_SYSTEMS

_PERSON = {
    "atena_no": "100000000012", "household_no": "200000000034", "relation_to_head": "子",
    "name_kanji": "福岡 花子", "name_kana": "フクオカ ハナコ", "birth_date": "令和2年4月1日", "sex": "2",
    "address": "福岡市東区箱崎1丁目2-3", "ward_code": "40131", "postal_code": "812-0053",
    "effective_date": "2025-05-01", "reason": "move_in", "school_code": "B140210000013",
}
_STUDENT = {
    "student_id": "S0123456", "school_code": "B140210000013", "name_kanji": "福岡 太郎",
    "name_kana": "ﾌｸｵｶ ﾀﾛｳ", "birth_date": "H30/4/1", "sex": "1", "grade": 1, "class_name": "1組",
}
_ELIGIBILITY = {"entitlement_id": "E-0001", "recipient_atena_no": "100000000020",
                "covered_atena_nos": ["100000000012"], "start_date": "R7.5.1"}
_ELIGIBILITY_END = {"entitlement_id": "E-0001", "recipient_atena_no": "100000000020", "end_date": "2026-03-31"}

PAYLOADS: dict[str, dict[str, Any]] = {
    "resident_registry.person.registered": _PERSON,
    "resident_registry.person.changed": {**_PERSON, "reason": "move_within", "ward_code": None},
    "resident_registry.person.left": {"atena_no": "100000000012", "household_no": "200000000034",
                                      "effective_date": "2025-09-01", "reason": "move_out"},
    "public_assistance.case.started": {"case_no": "PA-1", "household_no": "200000000034",
                                       "head_atena_no": "100000000020", "start_date": "令和7年5月1日"},
    "public_assistance.case.ended": {"case_no": "PA-1", "household_no": "200000000034",
                                     "head_atena_no": "100000000020", "end_date": "2025-10-31"},
    "maternal_child_health.pregnancy.notified": {
        "pregnancy_id": "P-1", "mother_atena_no": "100000000020", "notification_date": "2025-01-10",
        "gestational_weeks": 13, "expected_delivery_date": "2025-07-20"},
    "maternal_child_health.prenatal_checkup.visited": {
        "pregnancy_id": "P-1", "mother_atena_no": "100000000020", "visit_date": "2025-02-10"},
    "maternal_child_health.birth.recorded": {
        "pregnancy_id": "P-1", "mother_atena_no": "100000000020", "child_atena_no": "100000000012",
        "birth_date": "2025-07-18", "birth_weight_g": 2950},
    "maternal_child_health.postpartum_checkup.recorded": {
        "mother_atena_no": "100000000020", "child_atena_no": "100000000012", "checkup_date": "2025-08-15",
        "epds_total": 10, "epds_item10": 0},
    "maternal_child_health.infant_checkup.recorded": {
        "child_atena_no": "100000000012", "checkup": "3-4m", "checkup_date": "2025-11-01", "attended": True,
        "weight_kg": 6.2, "height_cm": 61.5, "hit_emotionally": False, "shook_violently": False},
    "child_allowance.eligibility.started": {**_ELIGIBILITY, "allowance": "jido_fuyo_teate"},
    "child_allowance.eligibility.ended": {**_ELIGIBILITY_END, "allowance": "jido_fuyo_teate"},
    "special_child_allowance.eligibility.started": _ELIGIBILITY,
    "special_child_allowance.eligibility.ended": _ELIGIBILITY_END,
    "single_parent_loans.loan.granted": {**_ELIGIBILITY, "loan_kind": "修学資金"},
    "single_parent_loans.loan.ended": _ELIGIBILITY_END,
    "childcare.enrolment.started": {"child_atena_no": "100000000012", "facility_kind": "licensed_nursery",
                                    "facility_code": "F-0101", "start_date": "2025-04-01"},
    "childcare.enrolment.ended": {"child_atena_no": "100000000012", "facility_code": "F-0101",
                                  "end_date": "2026-03-31"},
    "medical_subsidy.eligibility.started": {**_ELIGIBILITY, "subsidy": "single_parent_medical"},
    "medical_subsidy.eligibility.ended": {**_ELIGIBILITY_END, "subsidy": "single_parent_medical"},
    "disability.certificate.issued": {
        "certificate_no": "C-1", "atena_no": "100000000012", "certificate": "mental_health_welfare",
        "developmental_disability": True, "grade": "2級", "issue_date": "2025-06-01"},
    "disability.certificate.ended": {"certificate_no": "C-1", "atena_no": "100000000012",
                                     "end_date": "2027-05-31"},
    "long_term_care.certification.started": {"insured_no": "I-1", "atena_no": "100000000030",
                                             "care_level": "要介護2", "start_date": "2025-04-01"},
    "long_term_care.certification.ended": {"insured_no": "I-1", "atena_no": "100000000030",
                                           "end_date": "2026-03-31"},
    "school_students.student.registered": _STUDENT,
    "school_students.student.changed": {**_STUDENT, "atena_no": "100000000012", "address": "福岡市東区箱崎1-2-3"},
    "school_students.student.left": {"student_id": "S0123456", "school_code": "B140210000013",
                                     "left_date": "2026-03-25"},
    "school_affairs.attendance.reported": {
        "student_id": "S0123456", "school_code": "B140210000013", "school_year": 2025, "month": 1,
        "absence_days": 4, "late_arrivals": 2, "school_days": 19},
    "school_affairs.health_checkup.recorded": {
        "student_id": "S0123456", "school_code": "B140210000013", "checkup_date": "2025-04-20",
        "height_cm": 117.2, "weight_kg": 20.1},
    "school_surveys.survey.answered": {
        "student_id": "S0123456", "school_code": "B140210000013", "survey": "lifestyle",
        "answered_date": "2025-06-10", "skips_breakfast": True, "distress": False},
    "school_aid.aid.started": _ELIGIBILITY,
    "school_aid.aid.ended": _ELIGIBILITY_END,
    "school_lunch_fees.arrears.reported": {"student_id": "S0123456", "school_code": "B140210000013",
                                           "as_of": "2025-09-30", "months_in_arrears": 3, "amount_yen": 13500},
    "child_guidance.involvement.started": {"case_no": "CG-1", "child_atena_no": "100000000012",
                                           "involvement": "youtaikyo", "start_date": "2025-05-20"},
    "child_guidance.involvement.ended": {"case_no": "CG-1", "child_atena_no": "100000000012",
                                         "involvement": "youtaikyo", "end_date": "2026-01-31"},
}
SYSTEM_OF_TYPE: dict[str, str] = {t: s.system for s in SOURCE_SYSTEMS.values() for t in s.event_types}
EXAMPLE_TIME = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)


def example_event(event_type: str, event_id: str | None = None, **data_changes: Any) -> dict[str, Any]:
    """A CloudEvents envelope around the example payload, with changes applied to ``data``."""
    system = SYSTEM_OF_TYPE[event_type]
    data = {**PAYLOADS[event_type], **data_changes}
    return {
        "specversion": "1.0", "id": event_id or f"example-{event_type}", "type": event_type,
        "source": f"/fukuoka/{system.replace('_', '-')}", "time": EXAMPLE_TIME.isoformat(),
        "subject": None, "datacontenttype": "application/json", "schemaversion": 1, "data": data,
    }


def topic_of(event_type: str) -> str:
    return SOURCE_SYSTEMS[SYSTEM_OF_TYPE[event_type]].topic


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PAYLOADS):
        print(json.dumps(example_event(name), ensure_ascii=False))
