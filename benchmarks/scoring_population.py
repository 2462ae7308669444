"""A synthetic stream of linkage facts for scoring benchmarks: children of all ages with a realistic mix."""

from __future__ import annotations

import json
import random
import uuid
from datetime import date, timedelta
from typing import Any

from services.scoring.domain.growth import weight_for_age_lms

WARDS = ["40131", "40132", "40133", "40134", "40135", "40136", "40137"]


def _fact(child: str, fact_id: str, kind: str, relation: str = "self", valid_from: str | None = None,
          valid_to: str | None = None, **attributes: Any) -> dict[str, Any]:
    return {"fact_id": fact_id, "child_id": child, "kind": kind, "relation": relation, "status": "asserted",
            "source_system": "bench", "record_id": f"r-{fact_id}", "record_date": valid_from,
            "valid_from": valid_from, "valid_to": valid_to, "attributes": attributes}


def _weight(rng: random.Random, sex: str, age_days: int) -> float:
    """A weight drawn from the WHO reference itself, so about 3 % fall below the 3rd percentile."""
    lms = weight_for_age_lms(sex, min(age_days, 1826))
    assert lms is not None
    z = max(min(rng.gauss(0, 1), 3), -3)
    return round(lms.m * (1 + lms.l * lms.s * z) ** (1 / lms.l), 2)


def child_facts(rng: random.Random, number: int, today: date) -> list[dict[str, Any]]:
    child = f"bench-{number:07d}"
    born = today - timedelta(days=rng.randrange(0, 15 * 365))
    moved_in = born + timedelta(days=rng.randrange(0, 3000)) if rng.random() < 0.15 else None
    facts = [_fact(child, f"res-{child}", "residence", valid_from=(moved_in or born).isoformat(),
                   birth_date=born.isoformat(), sex=rng.choice("12"), ward_code=rng.choice(WARDS),
                   resident_since=moved_in.isoformat() if moved_in else None)]
    for kind, months in (("3-4m", 4), ("1y6m", 19), ("3y", 37)):
        on = born + timedelta(days=months * 30)
        if on <= today and rng.random() < 0.95:
            facts.append(_fact(child, f"chk-{kind}-{child}", "infant_checkup", valid_from=on.isoformat(),
                               checkup=kind, checkup_date=on.isoformat(), attended=True,
                               weight_kg=_weight(rng, facts[0]["attributes"]["sex"], (on - born).days),
                               hit_emotionally=rng.random() < 0.02))
    if rng.random() < 0.04:
        facts.append(_fact(child, f"pa-{child}", "public_assistance", "household",
                           valid_from=(today - timedelta(days=rng.randrange(1, 2000))).isoformat(), case_no="C"))
    if rng.random() < 0.10:
        facts.append(_fact(child, f"al-{child}", "allowance", "guardian",
                           valid_from=(today - timedelta(days=rng.randrange(1, 2000))).isoformat(),
                           allowance="jido_fuyo_teate"))
    age_years = (today - born).days // 365
    if age_years >= 7:
        for month in (4, 5, 6, 7, 9, 10):
            facts.append(_fact(child, f"att-{child}-{month}", "attendance", school_year=today.year - 1, month=month,
                               absence_days=rng.choice([0, 0, 0, 1, 2, 6]), late_arrivals=rng.choice([0, 0, 1, 4])))
        facts.append(_fact(child, f"shc-{child}", "school_health_checkup",
                           valid_from=date(today.year, 4, 20).isoformat(),
                           checkup_date=date(today.year, 4, 20).isoformat(),
                           height_cm=(height := round(rng.uniform(115, 165), 1)),
                           weight_kg=round(rng.gauss(125, 15) * height**3 / 1e7, 1)))
    if age_years < 1:
        facts.append(_fact(child, f"epds-{child}", "postpartum_checkup", "mother",
                           valid_from=(born + timedelta(days=14)).isoformat(), epds_total=rng.randrange(0, 20),
                           epds_item10=rng.choice([0, 0, 0, 1])))
    return facts


def envelope(fact: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00",
                       "subject": fact["child_id"], "data": fact}, ensure_ascii=False).encode()
