"""Hypothesis strategies for scoring's property tests: facts of every kind, in any sequence, on any day."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

DAYS = st.dates(min_value=date(2018, 1, 1), max_value=date(2027, 12, 31))
ISO = DAYS.map(date.isoformat)
MAYBE_ISO = st.none() | ISO


def _attributes(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    by_kind: dict[str, dict[str, st.SearchStrategy[Any]]] = {
        "residence": {"birth_date": ISO, "sex": st.sampled_from(["1", "2"]), "ward_code": st.just("40131"),
                      "resident_since": MAYBE_ISO},
        "birth": {"birth_date": ISO, "pregnancy_id": st.sampled_from(["P1", "P2", None])},
        "infant_checkup": {"checkup": st.sampled_from(["3-4m", "1y6m", "3y"]), "checkup_date": ISO,
                           "attended": st.booleans(), "weight_kg": st.none() | st.floats(3, 20),
                           "hit_emotionally": st.none() | st.booleans(), "shook_violently": st.none() | st.booleans()},
        "public_assistance": {"case_no": st.just("C1")},
        "allowance": {"allowance": st.sampled_from(["jido_teate", "jido_fuyo_teate"])},
        "attendance": {"school_year": st.integers(2023, 2027), "month": st.integers(1, 12),
                       "absence_days": st.integers(0, 31), "late_arrivals": st.integers(0, 31)},
        "postpartum_checkup": {"checkup_date": ISO, "epds_total": st.integers(0, 30), "epds_item10": st.integers(0, 3)},
        "pregnancy_notified": {"notification_date": ISO, "gestational_weeks": st.integers(4, 40),
                               "pregnancy_id": st.sampled_from(["P1", "P2"])},
        "prenatal_checkup": {"visit_date": ISO, "pregnancy_id": st.sampled_from(["P1", "P2"])},
        "disability_certificate": {"certificate": st.sampled_from(["mental_health_welfare", "child_support_recipient"]),
                                   "developmental_disability": st.booleans()},
        "child_guidance": {"involvement": st.sampled_from(["support", "youtaikyo", "temporary_protection"])},
        "survey": {"answered_date": ISO, "distress": st.booleans()},
        "school_enrolment": {"sex": st.sampled_from(["1", "2"])},
        "school_health_checkup": {"checkup_date": ISO, "height_cm": st.floats(100, 170),
                                  "weight_kg": st.floats(15, 60)},
    }
    return st.fixed_dictionaries(by_kind[kind])


@st.composite
def fact_dicts(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["residence", "birth", "infant_checkup", "public_assistance", "allowance",
                                 "attendance", "postpartum_checkup", "pregnancy_notified", "prenatal_checkup",
                                 "disability_certificate", "child_guidance", "survey", "school_health_checkup",
                                 "school_enrolment"]))
    relation = {"public_assistance": "household", "allowance": "guardian", "postpartum_checkup": "mother",
                "pregnancy_notified": "mother", "prenatal_checkup": "mother"}.get(kind, "self")
    return {"fact_id": f"{kind}-{draw(st.integers(0, 2))}", "child_id": "child-p", "kind": kind,
            "relation": relation, "status": draw(st.sampled_from(["asserted"] * 4 + ["retracted"])),
            "source_system": "test", "record_id": "r", "record_date": draw(MAYBE_ISO),
            "valid_from": draw(MAYBE_ISO), "valid_to": draw(st.none() | st.none() | ISO),
            "attributes": draw(_attributes(kind))}


FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
