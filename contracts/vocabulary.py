"""The words every service shares, defined once: Fukuoka's seven wards, the three tiers, the 19 basic linkage
items (基本連携データ項目) and the city's connection signals (行政とのつながり) as ward staff read them.

Services import these instead of restating them; a test holds the simulator's ward table and scoring's rule
labels against them (tests/unit/contracts/test_vocabulary.py).
"""

from __future__ import annotations

from typing import Literal, get_args

WardCode = Literal["40131", "40132", "40133", "40134", "40135", "40136", "40137"]
WARDS: dict[str, str] = {  # 区コード (全国地方公共団体コード) → 区名, in the city's own order
    "40131": "東区", "40132": "博多区", "40133": "中央区", "40134": "南区",
    "40135": "西区", "40136": "城南区", "40137": "早良区",
}
WARD_CODES: tuple[str, ...] = get_args(WardCode)

Tier = Literal["重点", "予防", "見守り"]
TIERS: tuple[str, ...] = get_args(Tier)  # highest priority first
TIER_PATTERN = "^(" + "|".join(TIERS) + ")$"

ITEM_NUMBERS = range(1, 20)
ITEM_LABELS: dict[int, str] = {  # short labels for lists and inboxes; scoring's rules carry the full ones
    1: "要対協登録歴", 2: "一時保護歴", 3: "乳幼児健診未受診", 4: "問診：感情的に叩いた", 5: "問診：家に残して外出",
    6: "問診：長時間食事を与えなかった", 7: "問診：口をふさいだ", 8: "問診：激しく揺さぶった", 9: "低体重",
    10: "発達障がい（精神障害者保健福祉手帳）", 11: "障害児支援受給者証", 12: "欠席が多い", 13: "遅刻が多い",
    14: "本人の悩み・希死念慮", 15: "妊娠届出の遅れ", 16: "妊婦健診未受診", 17: "EPDS高値", 18: "生活保護受給世帯",
    19: "児童扶養手当受給",
}
SIGNAL_LABELS: dict[str, str] = {  # 行政とのつながり: SignalV1.code → label (not guideline items)
    "unenrolled": "未就園", "known_to_guidance": "児童相談所が関与中", "moved_in": "市外からの転入",
    "no_contact": "行政との接点なし",
}

assert tuple(WARDS) == WARD_CODES, "WARDS and WardCode name the same wards in the same order"
