"""The 19 basic linkage items (基本連携データ項目) as ward staff read them, and the tiers."""

from __future__ import annotations

ITEM_LABELS: dict[int, str] = {
    1: "要対協登録歴", 2: "一時保護歴", 3: "乳幼児健診未受診", 4: "問診：感情的に叩いた", 5: "問診：家に残して外出",
    6: "問診：長時間食事を与えなかった", 7: "問診：口をふさいだ", 8: "問診：激しく揺さぶった", 9: "低体重",
    10: "発達障がい（精神障害者保健福祉手帳）", 11: "障害児支援受給者証", 12: "欠席が多い", 13: "遅刻が多い",
    14: "本人の悩み・希死念慮", 15: "妊娠届出の遅れ", 16: "妊婦健診未受診", 17: "EPDS高値", 18: "生活保護受給世帯",
    19: "児童扶養手当受給",
}
TIERS = ("重点", "予防", "見守り")
# 行政とのつながり (issue 18): scoring's connection signals by code (SignalV1.code), beside the 19 items.
SIGNAL_LABELS: dict[str, str] = {"unenrolled": "未就園", "known_to_guidance": "児童相談所が関与中",
                                 "moved_in": "市外からの転入", "no_contact": "行政との接点なし"}
SIGNAL_CODE_PATTERN = "^(" + "|".join(SIGNAL_LABELS) + ")$"
REASON_LABELS = {"entered_tier": "階層に該当", "high_weight_flag": "項目に該当", "moved_ward": "転居により移管"}
RELATION_LABELS = {"self": "本人", "mother": "母", "father": "父", "guardian": "保護者", "household": "世帯",
                   "sibling": "きょうだい", "pregnancy": "妊娠時"}
STEP_DETAIL_LABELS = {
    "approach_method": "アプローチ方法", "lead_division": "主担当課", "hearing_notes": "聞き取り内容",
    "support_content": "支援内容", "support_notes": "実施内容", "gained": "新たに該当", "cleared": "解消",
    "reason": "理由", "items": "該当項目", "to_ward": "移管先", "merged_into": "統合先の児童ID",
}


def items_text(value: str) -> str:
    """'3,17' → '乳幼児健診未受診、EPDS高値' (timeline entries store item numbers)."""
    numbers = [int(n) for n in value.split(",") if n.strip().isdigit()]
    return "、".join(item_label(n) for n in numbers) or "—"


def step_detail_text(key: str, value: str) -> str:
    if key in ("items", "gained", "cleared"):
        return items_text(value)
    if key == "reason":
        return REASON_LABELS.get(value, value)
    if key == "to_ward":
        from services.casework.domain.access import WARDS

        return WARDS.get(value, value)
    return value


def item_label(item: int) -> str:
    return ITEM_LABELS.get(item, f"項目{item}")


def signal_label(code: str) -> str:
    return SIGNAL_LABELS.get(code, code)
