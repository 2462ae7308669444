"""Builders of the messages casework consumes, as scoring and linkage would send them."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

LABELS = {3: "乳幼児健診未受診", 9: "低体重", 12: "欠席が多い", 15: "妊娠届出の遅れ", 17: "EPDS高値",
          18: "生活保護受給世帯", 19: "児童扶養手当受給"}


def flag(item: int, summary: str = "健診の受診記録がありません") -> dict[str, Any]:
    return {
        "item": item, "label_ja": LABELS.get(item, f"項目{item}"), "rule_version": "r1", "raised_on": "2026-05-01",
        "detail_ja": "テスト", "evidence": [{
            "fact_id": f"f-{item}", "fact_kind": "checkup", "source_system": "maternal_child_health",
            "relation": "self", "record_date": "2026-04-30", "summary_ja": summary, "values": {"months": 18},
        }],
    }


SIGNALS = {"unenrolled": "未就園", "known_to_guidance": "児童相談所が関与中", "moved_in": "市外からの転入"}


def signal(code: str) -> dict[str, Any]:
    """A connection signal (SignalV1) as scoring publishes it, with one piece of evidence."""
    return {
        "code": code, "label_ja": SIGNALS.get(code, code), "rule_version": "1.0", "raised_on": "2026-04-01",
        "detail_ja": f"{SIGNALS.get(code, code)}のテスト", "evidence": [{
            "fact_id": f"s-{code}", "fact_kind": "birth", "source_system": "resident_registry", "relation": "self",
            "record_date": "2023-04-01", "summary_ja": f"{code}の根拠", "values": {}}],
    }


def assessment(items: list[int], tier: str | None = None, child_guidance: bool = False,
               signals: list[str] | None = None) -> dict[str, Any]:
    data = {"flags": [flag(i) for i in items], "score": float(len(items)), "tier": tier,
            "supported_by_child_guidance": child_guidance}
    if signals is not None:  # absent, like scoring's messages for a child without signals
        data["signals"] = [signal(code) for code in signals]
    return data


def flags_event(child_id: str, ward: str | None, before: list[int] | None, after: list[int], *,
                tier_before: str | None = None, tier_after: str | None = None, as_of: str = "2026-05-01",
                event_id: str | None = None, child_guidance: bool = False,
                ward_since: str | None = None, signals: list[str] | None = None) -> dict[str, Any]:
    data = {
        "child_id": child_id, "ward_code": ward, "ward_since": ward_since, "as_of": as_of, "rules_version": "r1",
        "weights_version": "w1",
        "before": assessment(before, tier_before) if before is not None else None,
        "after": assessment(after, tier_after, child_guidance, signals),
        "raised_items": sorted(set(after) - set(before or [])),
        "cleared_items": sorted(set(before or []) - set(after)),
    }
    return envelope(data, "scoring.flags.changed", child_id, event_id)


def profile_event(child_id: str, ward: str | None, name: str = "福岡 花子", event_id: str | None = None,
                  birth_date: str = "2024-10-01", ward_since: str | None = None,
                  version: int | None = None, household_id: str = "h-1") -> dict[str, Any]:
    data = {"child_id": child_id, "household_id": household_id, "name_kanji": name, "name_kana": "フクオカ ハナコ",
            "birth_date": birth_date, "sex": "2", "ward_code": ward, "address": "福岡市東区箱崎1-1-1",
            "status": "resident", "ward_since": ward_since, "version": version}
    return envelope(data, "linkage.child.changed", child_id, event_id)


def review_event(review_id: str) -> dict[str, Any]:
    data = {"review_id": review_id, "record_id": "rec-1", "system": "school_students",
            "candidate_person_id": "p-1", "reason": "氏名かなの表記ゆれ", "match_weight": 4.2,
            "match_probability": 0.62, "comparisons": [
                {"field": "name_kana", "record_value": "ﾌｸｵｶ ﾊﾅｺ", "candidate_value": "フクオカ ハナコ",
                 "agreement": "fuzzy", "weight": 3.1},
                {"field": "birth_date", "record_value": "2016-04-02", "candidate_value": "2016-04-02",
                 "agreement": "exact", "weight": 6.0}]}
    return envelope(data, "linkage.review.opened", review_id, None)


def envelope(data: dict[str, Any], type_: str, subject: str, event_id: str | None) -> dict[str, Any]:
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "/tsunagu/test", "type": type_,
            "time": datetime.now(UTC).isoformat(), "subject": subject, "datacontenttype": "application/json",
            "schemaversion": 1, "data": data}


def raw(event: dict[str, Any]) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()
