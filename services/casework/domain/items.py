"""The 19 basic linkage items (基本連携データ項目) as ward staff read them, and the tiers."""

from __future__ import annotations

from contracts.vocabulary import ITEM_LABELS as ITEM_LABELS
from contracts.vocabulary import SIGNAL_LABELS as SIGNAL_LABELS
from contracts.vocabulary import TIERS as TIERS

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
