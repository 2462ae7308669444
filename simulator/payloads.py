"""Payload builders: the ``data`` of every source event type, from plain values (one place for field names)."""

from __future__ import annotations

from typing import Any

Data = dict[str, Any]


def person_record(*, atena_no: str, household_no: str, relation: str, name_kanji: str, name_kana: str,
                  birth_date: str, sex: str, address: str, ward_code: str | None, postal_code: str | None,
                  effective_date: str, reason: str, school_code: str | None = None) -> Data:
    return {"atena_no": atena_no, "household_no": household_no, "relation_to_head": relation,
            "name_kanji": name_kanji, "name_kana": name_kana, "birth_date": birth_date, "sex": sex,
            "address": address, "ward_code": ward_code, "postal_code": postal_code,
            "effective_date": effective_date, "reason": reason, "school_code": school_code}


def person_left(*, atena_no: str, household_no: str, effective_date: str, reason: str) -> Data:
    return {"atena_no": atena_no, "household_no": household_no, "effective_date": effective_date, "reason": reason}


def case_started(*, case_no: str, household_no: str, head_atena_no: str, start_date: str) -> Data:
    return {"case_no": case_no, "household_no": household_no, "head_atena_no": head_atena_no,
            "start_date": start_date}


def case_ended(*, case_no: str, household_no: str, head_atena_no: str, end_date: str) -> Data:
    return {"case_no": case_no, "household_no": household_no, "head_atena_no": head_atena_no, "end_date": end_date}


def eligibility_started(*, entitlement_id: str, recipient: str, covered: list[str], start_date: str,
                        **kind: str) -> Data:
    """児童手当 (allowance=…), 公費医療 (subsidy=…), 貸付 (loan_kind=…), 就学援助, 特別児童扶養手当."""
    return {"entitlement_id": entitlement_id, "recipient_atena_no": recipient, "covered_atena_nos": covered,
            "start_date": start_date, **kind}


def eligibility_ended(*, entitlement_id: str, recipient: str, end_date: str, **kind: str) -> Data:
    return {"entitlement_id": entitlement_id, "recipient_atena_no": recipient, "end_date": end_date, **kind}


def pregnancy_notified(*, pregnancy_id: str, mother: str, notification_date: str, weeks: int,
                       expected_delivery_date: str | None) -> Data:
    return {"pregnancy_id": pregnancy_id, "mother_atena_no": mother, "notification_date": notification_date,
            "gestational_weeks": weeks, "expected_delivery_date": expected_delivery_date}


def prenatal_visit(*, pregnancy_id: str, mother: str, visit_date: str) -> Data:
    return {"pregnancy_id": pregnancy_id, "mother_atena_no": mother, "visit_date": visit_date}


def birth_recorded(*, pregnancy_id: str | None, mother: str, child: str, birth_date: str,
                   birth_weight_g: int | None) -> Data:
    return {"pregnancy_id": pregnancy_id, "mother_atena_no": mother, "child_atena_no": child,
            "birth_date": birth_date, "birth_weight_g": birth_weight_g}


def postpartum_checkup(*, mother: str, child: str | None, checkup_date: str, epds_total: int,
                       epds_item10: int) -> Data:
    return {"mother_atena_no": mother, "child_atena_no": child, "checkup_date": checkup_date,
            "epds_total": epds_total, "epds_item10": epds_item10}


QUESTIONNAIRE = ("hit_emotionally", "left_alone", "not_fed", "covered_mouth", "shook_violently")


def infant_checkup(*, child: str, checkup: str, checkup_date: str, attended: bool,
                   weight_kg: float | None = None, height_cm: float | None = None,
                   answers: dict[str, bool] | None = None) -> Data:
    data: Data = {"child_atena_no": child, "checkup": checkup, "checkup_date": checkup_date, "attended": attended,
                  "weight_kg": weight_kg, "height_cm": height_cm}
    for question in QUESTIONNAIRE:
        data[question] = (answers or {}).get(question) if attended else None
    return data


def enrolment_started(*, child: str, facility_kind: str, facility_code: str, start_date: str) -> Data:
    return {"child_atena_no": child, "facility_kind": facility_kind, "facility_code": facility_code,
            "start_date": start_date}


def enrolment_ended(*, child: str, facility_code: str, end_date: str) -> Data:
    return {"child_atena_no": child, "facility_code": facility_code, "end_date": end_date}


def certificate_issued(*, certificate_no: str, atena_no: str, certificate: str, developmental: bool,
                       grade: str | None, issue_date: str) -> Data:
    return {"certificate_no": certificate_no, "atena_no": atena_no, "certificate": certificate,
            "developmental_disability": developmental, "grade": grade, "issue_date": issue_date}


def certificate_ended(*, certificate_no: str, atena_no: str, end_date: str) -> Data:
    return {"certificate_no": certificate_no, "atena_no": atena_no, "end_date": end_date}


def care_certified(*, insured_no: str, atena_no: str, care_level: str, start_date: str) -> Data:
    return {"insured_no": insured_no, "atena_no": atena_no, "care_level": care_level, "start_date": start_date}


def care_ended(*, insured_no: str, atena_no: str, end_date: str) -> Data:
    return {"insured_no": insured_no, "atena_no": atena_no, "end_date": end_date}


def student_record(*, student_id: str, school_code: str, name_kanji: str, name_kana: str, birth_date: str,
                   sex: str, grade: int, class_name: str | None, atena_no: str | None,
                   address: str | None) -> Data:
    return {"student_id": student_id, "school_code": school_code, "name_kanji": name_kanji,
            "name_kana": name_kana, "birth_date": birth_date, "sex": sex, "grade": grade,
            "class_name": class_name, "atena_no": atena_no, "address": address}


def student_left(*, student_id: str, school_code: str, left_date: str) -> Data:
    return {"student_id": student_id, "school_code": school_code, "left_date": left_date}


def attendance(*, student_id: str, school_code: str, school_year: int, month: int, absence_days: int,
               late_arrivals: int, school_days: int | None) -> Data:
    return {"student_id": student_id, "school_code": school_code, "school_year": school_year, "month": month,
            "absence_days": absence_days, "late_arrivals": late_arrivals, "school_days": school_days}


def school_health(*, student_id: str, school_code: str, checkup_date: str, height_cm: float,
                  weight_kg: float) -> Data:
    return {"student_id": student_id, "school_code": school_code, "checkup_date": checkup_date,
            "height_cm": height_cm, "weight_kg": weight_kg}


def survey(*, student_id: str, school_code: str, survey: str, answered_date: str, score: float | None,
           skips_breakfast: bool | None, distress: bool | None) -> Data:
    return {"student_id": student_id, "school_code": school_code, "survey": survey, "answered_date": answered_date,
            "score": score, "skips_breakfast": skips_breakfast, "distress": distress}


def arrears(*, atena_no: str | None, student_id: str | None, school_code: str | None, as_of: str,
            months: int, amount_yen: int) -> Data:
    return {"atena_no": atena_no, "student_id": student_id, "school_code": school_code, "as_of": as_of,
            "months_in_arrears": months, "amount_yen": amount_yen}


def involvement_started(*, case_no: str, child: str, involvement: str, start_date: str) -> Data:
    return {"case_no": case_no, "child_atena_no": child, "involvement": involvement, "start_date": start_date}


def involvement_ended(*, case_no: str, child: str, involvement: str, end_date: str) -> Data:
    return {"case_no": case_no, "child_atena_no": child, "involvement": involvement, "end_date": end_date}
