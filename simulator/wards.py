"""Fukuoka City's seven wards: codes, names, population shares and a few real town names for addresses.

Population shares follow the city's 2024 推計人口 (rounded); town names are public place names, the
block and lot numbers the simulator adds are invented.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ward:
    code: str
    name: str
    share: float  # of the city's residents
    postal_prefix: str
    towns: tuple[str, ...]


WARDS: tuple[Ward, ...] = (
    Ward("40131", "東区", 0.199, "813", ("箱崎", "香椎", "千早", "和白", "名島", "香住ケ丘", "青葉", "舞松原")),
    Ward("40132", "博多区", 0.159, "812", ("博多駅前", "千代", "吉塚", "堅粕", "住吉", "東光", "竹下", "板付")),
    Ward("40133", "中央区", 0.127, "810", ("天神", "大名", "薬院", "平尾", "六本松", "警固", "赤坂", "荒戸")),
    Ward("40134", "南区", 0.165, "815", ("大橋", "高宮", "長住", "井尻", "野間", "横手", "柳河内", "花畑")),
    Ward("40135", "西区", 0.131, "819", ("姪浜", "今宿", "周船寺", "愛宕", "石丸", "拾六町", "壱岐団地", "野方")),
    Ward("40136", "城南区", 0.083, "814", ("七隈", "別府", "茶山", "鳥飼", "長尾", "田島", "梅林", "片江")),
    Ward("40137", "早良区", 0.136, "814", ("西新", "藤崎", "野芥", "原", "百道", "室見", "干隈", "田村")),
)
WARD_BY_CODE: dict[str, Ward] = {w.code: w for w in WARDS}
WARD_CODES: tuple[str, ...] = tuple(w.code for w in WARDS)


def address(ward: Ward, town_index: int, chome: int, block: int, lot: int) -> str:
    town = ward.towns[town_index % len(ward.towns)]
    return f"福岡市{ward.name}{town}{chome}丁目{block}-{lot}"


def postal_code(ward: Ward, town_index: int) -> str:
    return f"{ward.postal_prefix}-{(town_index % len(ward.towns)) * 11 + 1:04d}"
