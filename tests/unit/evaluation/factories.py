"""Envelopes for evaluation's three input topics, as casework and scoring publish them (pseudonymous ids)."""

from __future__ import annotations

import json
import uuid
from typing import Any


def envelope(type_: str, data: dict[str, Any], *, event_id: str | None = None,
             time: str = "2026-09-01T09:00:00+09:00") -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "/tsunagu/test", "type": type_,
            "time": time, "subject": None, "datacontenttype": "application/json", "schemaversion": 1, "data": data}


def alert(case_id: str, child_id: str, ward: str = "40131", items: list[int] | None = None, tier: str = "予防",
          raised_at: str = "2026-09-01T00:00:00+00:00") -> dict[str, Any]:
    return envelope("casework.alert.raised", {"alert_id": case_id, "child_id": child_id, "ward_code": ward,
                                              "raised_at": raised_at, "tier": tier, "items": items or [18],
                                              "reason": "entered_tier"})


def outcome(case_id: str, child_id: str, step: str, result: str | None, at: str, ward: str = "40131",
            items: list[int] | None = None) -> dict[str, Any]:
    return envelope("casework.step.recorded", {"case_id": case_id, "child_id": child_id, "ward_code": ward,
                                               "step": step, "result": result, "items_at_listing": items or [18],
                                               "recorded_at": at, "actor_role": "ward_staff"})


def flags(child_id: str, items: list[int], as_of: str = "2026-09-01", ward: str | None = "40131",
          tier: str | None = "予防", time: str = "2026-09-01T09:00:00+09:00",
          signals: list[str] | None = None) -> dict[str, Any]:
    flag = [{"item": i, "label_ja": f"項目{i}", "rule_version": "r1", "raised_on": as_of} for i in items]
    signal = [{"code": c, "label_ja": c, "rule_version": "1.0", "raised_on": as_of} for c in signals or []]
    return envelope("scoring.flags.changed", {
        "child_id": child_id, "ward_code": ward, "as_of": as_of, "rules_version": "r1", "weights_version": "w1",
        "before": None, "after": {"flags": flag, "signals": signal, "score": float(len(items)), "tier": tier},
        "raised_items": items, "cleared_items": []}, time=time)


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()
