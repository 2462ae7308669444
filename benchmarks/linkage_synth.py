"""A small noisy population for the linkage benchmark: a resident registry and school records of its children,
with the errors municipal data really has (typos in kana and kanji, surname changes, wrong birth dates, old or
missing addresses, twins, children not yet registered). Keys are folded as ingest's normalisation folds them (small
kana enlarged, long vowels spelled out, variant kanji), so a slip ingest would remove never reaches linkage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from benchmarks.linkage_cases import Cases, kana_parts, slip_date
from contracts.topics.ingest_records import PersonKeys, RecordV1
from services.ingest.domain.normalise import kana_key as fold_kana
from services.ingest.domain.normalise import kanji_key as fold_kanji

try:  # ingest's reading of a kanji-only 氏名's surname (absent in older checkouts: then none)
    from services.ingest.domain.surnames import surname_reading
except ImportError:  # pragma: no cover
    surname_reading = None  # type: ignore[assignment]


def _kana(text: str | None) -> str | None:
    """A kana key as ingest leaves it (small kana enlarged, long vowels spelled out: ュ and ユ are one key)."""
    return fold_kana(text) if text else None


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in (item.split(":") for item in text.split())]


SURNAMES = _pairs("""
    佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ
    小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ
    木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト
    阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカシマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ
    長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト
    松尾:マツオ 古賀:コガ 原田:ハラダ 野口:ノグチ 江口:エグチ 永田:ナガタ 宮崎:ミヤザキ 緒方:オガタ
    髙木:タカギ 白石:シライシ 平川:ヒラカワ 大塚:オオツカ 久保:クボ 荒木:アラキ 末永:スエナガ 柴田:シバタ
    西村:ニシムラ 上野:ウエノ 福田:フクダ 堤:ツツミ
""")
GIVEN = {
    "1": _pairs("""
    蓮:レン 悠真:ユウマ 湊:ミナト 大翔:ヒロト 陽翔:ハルト 樹:イツキ 悠人:ユウト 朝陽:アサヒ
    颯太:ソウタ 蒼:アオイ 律:リツ 奏太:ソウタ 翔太:ショウタ 健太:ケンタ 大輝:ダイキ 拓海:タクミ
    悠斗:ユウト 優太:ユウタ 翼:ツバサ 海斗:カイト 陸:リク 隼人:ハヤト 誠:マコト 太郎:タロウ
    一郎:イチロウ 浩二:コウジ 健一:ケンイチ 直樹:ナオキ 和也:カズヤ 大和:ヤマト
"""),
    "2": _pairs("""
    陽葵:ヒマリ 凛:リン 結菜:ユイナ 咲良:サクラ 芽依:メイ 紬:ツムギ 結衣:ユイ 美咲:ミサキ
    葵:アオイ 莉子:リコ 杏:アン 楓:カエデ 花:ハナ 真央:マオ 彩花:アヤカ 七海:ナナミ
    優奈:ユウナ 愛:アイ 美月:ミヅキ 心春:コハル 千尋:チヒロ 遥:ハルカ 奈々:ナナ 舞:マイ
    恵子:ケイコ 裕子:ユウコ 直美:ナオミ 由美:ユミ 香織:カオリ 明美:アケミ
"""),
}
KANJI_SLIPS = dict(_pairs("""
    太:大 郎:朗 斎:斉 藤:籐 崎:埼 辺:部 陽:洋 翔:祥 結:紬 美:実
    奈:菜 子:小 真:眞 優:裕 健:建 輝:耀 悠:優 海:梅
"""))
KANA_SLIPS = {"ウ": "", **dict(_pairs("ツ:ッ シ:ジ カ:ガ タ:ダ ハ:バ キ:ギ コ:ゴ ユ:ュ ト:ド"))}
WARDS = {
    "40131": ("東区", ["箱崎", "香椎", "千早", "和白", "名島"]),
    "40132": ("博多区", ["博多駅前", "千代", "吉塚", "住吉"]),
    "40133": ("中央区", ["天神", "大名", "薬院", "六本松"]),
    "40134": ("南区", ["大橋", "高宮", "井尻", "長住"]),
    "40135": ("西区", ["姪浜", "今宿", "周船寺", "愛宕"]),
    "40136": ("城南区", ["別府", "七隈", "荒江"]),
    "40137": ("早良区", ["西新", "藤崎", "野芥", "原"]),
}
ZIPF = [1.0 / (i + 1) ** 0.9 for i in range(len(SURNAMES))]
WARD_BY_NAME = {name: code for code, (name, _) in WARDS.items()}


def designated_school(address: str, birth: date, as_of: date = date(2025, 4, 1)) -> str:
    """The 学齢簿's 指定校 for a child living at ``address``: the public school whose 校区 holds it, an elementary
    school per town and chōme group (≈ 90 here; Fukuoka has 144) or a junior high per town (≈ 30; Fukuoka 69),
    coded like the national 学校コード (kind, ward, school number) as ``simulator.schools`` does."""
    ward_name = next(name for name in WARD_BY_NAME if address.startswith(name))
    ward = WARD_BY_NAME[ward_name]
    rest = address[len(ward_name):]
    town = next(i for i, t in enumerate(WARDS[ward][1]) if rest.startswith(t))
    chome = int(rest[len(WARDS[ward][1][town]):].split("-", 1)[0])
    cohort = birth.year if (birth.month, birth.day) > (4, 1) else birth.year - 1  # 1 April: the earlier cohort
    grade = min(max(as_of.year - cohort - 6 + (0 if as_of.month >= 4 else -1), 1), 9)
    if grade <= 6:
        return f"B140{ward[-2:]}{town * 3 + (chome - 1) // 3:03d}"
    return f"C140{ward[-2:]}{town:03d}"


def _other_school(code: str, rng: random.Random) -> str:
    """Another school of the same kind in the same ward (指定校変更, 区域外就学)."""
    ward = "401" + code[4:6]
    count = len(WARDS[ward][1]) * (3 if code[0] == "B" else 1)
    others = [n for n in range(count) if n != int(code[6:])]
    return f"{code[:6]}{rng.choice(others):03d}" if others else code


@dataclass
class NamePool:
    surnames: list[tuple[str, str]]
    surname_weights: list[float]
    given: dict[str, list[tuple[str, str]]]
    given_weights: dict[str, list[float]]

    def surname(self, rng: random.Random) -> tuple[str, str]:
        return rng.choices(self.surnames, weights=self.surname_weights)[0]

    def given_name(self, rng: random.Random, sex: str, avoid: set[str] = frozenset()) -> tuple[str, str]:  # type: ignore[assignment]
        while True:
            name = rng.choices(self.given[sex], weights=self.given_weights[sex])[0]
            if name[1] not in avoid:
                return name


def small_pool() -> NamePool:
    """60 surnames × 30 given names: far fewer names than a city has, so homonyms are frequent (a hard case)."""
    return NamePool(SURNAMES, ZIPF, GIVEN, {s: [1.0] * len(v) for s, v in GIVEN.items()})


def real_pool() -> NamePool:
    """Real surnames by population (名字由来net) and popular given-name readings with up to 3 spellings each,
    from ``japanese-personal-name-dataset``; falls back to the small pool when it is not installed."""
    try:
        import jaconv
        from japanese_personal_name_dataset import load_dataset
    except ImportError:
        return small_pool()
    man, woman = load_dataset(kind="opti")
    _, _, last = load_dataset(kind="org", include_last_names=True)
    surnames = [(k, jaconv.hira2kata(v["reading"])) for k, v in last.items()]
    weights = [float(v["count"]) for v in last.values()]
    given: dict[str, list[tuple[str, str]]] = {}
    given_weights: dict[str, list[float]] = {}
    for sex, names in (("1", man), ("2", woman)):
        pool = [(kanji, jaconv.hira2kata(reading)) for reading, v in names.items() for kanji in v["kanji"][:3]]
        given[sex] = pool
        given_weights[sex] = [1.0 / (i + 1) ** 0.6 for i in range(len(pool))]
    return NamePool(surnames, weights, given, given_weights)


@dataclass
class SynthPerson:
    atena: str
    household: str
    surname: tuple[str, str]
    given: tuple[str, str]
    birth: date
    sex: str
    ward: str
    address: str  # without the city prefix: what address_key holds

    def keys(self, role: str = "subject", **extra: str | None) -> PersonKeys:
        kanji, kana = fold_kanji(self.surname[0] + self.given[0]), fold_kana(self.surname[1] + self.given[1])
        return PersonKeys(role=role, atena_no=self.atena, name_kanji=f"{self.surname[0]} {self.given[0]}",  # type: ignore[arg-type]
                          name_kana=f"{self.surname[1]} {self.given[1]}", kanji_key=kanji, kana_key=kana,
                          surname_kana_key=_kana(self.surname[1]), given_kana_key=_kana(self.given[1]),
                          birth_date=self.birth.isoformat(), sex=self.sex,  # type: ignore[arg-type]
                          address="福岡市" + self.address, address_key=self.address, ward_code=self.ward, **extra)


@dataclass
class Population:
    names: NamePool
    persons: list[SynthPerson] = field(default_factory=list)
    students: list[tuple[RecordV1, str | None]] = field(default_factory=list)  # school record, true 宛名番号
    tags: dict[str, set[str]] = field(default_factory=dict)  # record id → cases it carries (linkage_cases.ROWS)

    def registry_records(self, as_of: date = date(2025, 4, 1)) -> list[RecordV1]:
        """住民記録 at go-live; a child of school age carries its 学齢簿 指定校 (the school its address belongs to:
        the 教育委員会 keeps the 学齢簿 from the 住民基本台帳, and the resident_registry contract carries it)."""
        return [RecordV1(record_id=f"reg-{p.household}-{p.atena}", system="resident_registry",
                         event_type="resident_registry.person.registered", occurred_at="2025-04-01T09:00:00+09:00",
                         record_date="2025-04-01", household_no=p.household, persons=[p.keys()],
                         attributes={"effective_date": "2025-04-01", "reason": "initial_load",
                                     "relation_to_head": "子",
                                     **({"school_code": designated_school(p.address, p.birth, as_of)}
                                        if 6 <= (as_of - p.birth).days // 365 <= 15 else {})})
                for p in self.persons]


def _address(rng: random.Random) -> tuple[str, str]:
    ward = rng.choice(list(WARDS))
    name, towns = WARDS[ward]
    return ward, f"{name}{rng.choice(towns)}{rng.randint(1, 9)}-{rng.randint(1, 40)}-{rng.randint(1, 30)}"


def build(households: int, seed: int = 7, as_of: date = date(2025, 4, 1), names: NamePool | None = None,
          atena_base: int = 100_000_000_000) -> Population:
    rng = random.Random(seed)
    names = names or small_pool()
    pop = Population(names=names)
    atena = atena_base
    for h in range(households):
        ward, address = _address(rng)
        surname = names.surname(rng)
        hh = f"{atena_base + 100_000_000_000 + h}"
        parent_birth = as_of - timedelta(days=rng.randint(25 * 365, 50 * 365))
        partner_birth = parent_birth + timedelta(days=rng.randint(-900, 900))
        members: list[tuple[str, date]] = [("1", parent_birth), ("2", partner_birth)]
        for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 3, 3, 1])[0]):
            born = as_of - timedelta(days=rng.randint(0, 17 * 365))
            members.append((rng.choice("12"), born))
            if rng.random() < 0.02:  # twins: same birth date, surname, address
                members.append((rng.choice("12"), born))
        used: set[str] = set()
        for sex, born in members:
            given = names.given_name(rng, sex, used)
            used.add(given[1])
            atena += 1
            pop.persons.append(SynthPerson(str(atena), hh, surname, given, born, sex, ward, address))
    return pop


def _slip_kana(kana: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(kana) if c in KANA_SLIPS]
    if not spots:
        return kana[:-1] if len(kana) > 3 else kana
    i = rng.choice(spots)
    return kana[:i] + KANA_SLIPS[kana[i]] + kana[i + 1:]


def _slip_kanji(kanji: str, rng: random.Random) -> str:
    spots = [i for i, c in enumerate(kanji) if c in KANJI_SLIPS]
    if not spots:  # any character mistyped as a look-alike from the slip table
        i = rng.randrange(len(kanji))
        return kanji[:i] + rng.choice(list(KANJI_SLIPS.values())) + kanji[i + 1:]
    i = rng.choice(spots)
    return kanji[:i] + KANJI_SLIPS[kanji[i]] + kanji[i + 1:]


def add_students(pop: Population, seed: int = 11, as_of: date = date(2025, 4, 1), unregistered: float = 0.02,
                 noise: float = 1.0, prefix: str = "", cases: Cases | None = None) -> None:
    """School records (児童生徒管理, no 宛名番号) for the registry's children aged 6–15, plus a few unknown ones.

    ``cases`` (default: ``Cases()``, the realistic rates) adds blank fields, unseparated names, surname changes
    with a move or a typo, and near-namesakes; ``pop.tags`` says which record carries which."""
    rng = random.Random(seed)
    cases = cases or Cases()
    crng = random.Random(seed + 1000)  # the cases draw from their own stream: the base noise stays as it was
    srng = random.Random(seed + 2000)  # and the schools from theirs: the records are otherwise what they were
    schoolkids = [p for p in pop.persons if 6 <= (as_of - p.birth).days // 365 <= 15]
    mothers = {p.household: p for p in pop.persons if p.sex == "2" and (as_of - p.birth).days // 365 >= 20}
    renamed: dict[str, tuple[str, str]] = {}  # household → the surname its mother took (a sibling takes it too)
    for n, kid in enumerate(schoolkids):
        surname, given, born, sex, address = kid.surname, kid.given, kid.birth, kid.sex, kid.address
        truth: str | None = kid.atena
        tags = {"all"}
        c = lambda p: crng.random() < p * noise  # noqa: E731
        if rng.random() < unregistered:  # a child who is not (yet) in the registry: a new identity
            surname, given = pop.names.surname(rng), pop.names.given_name(rng, sex)
            born = born - timedelta(days=rng.randint(1, 300))
            address = _address(rng)[1]
            truth = None
            tags.add("unregistered")
        elif c(cases.near_namesake):  # not in the registry, but named like this registry child: born weeks apart
            born = born + timedelta(days=crng.choice([-1, 1]) * crng.randint(14, 35))
            address = _address(crng)[1]
            truth = None
            tags |= {"unregistered", "near_namesake"}
        true_born = born  # before any typo: the school year a child is in follows it
        kana_s, kana_g, kanji_s, kanji_g = surname[1], given[1], surname[0], given[0]
        r = lambda p: rng.random() < p * noise  # noqa: E731
        moved = False
        if r(cases.surname_change):
            new_s = pop.names.surname(rng)  # 離婚・再婚: the school uses the new surname
            kana_s, kanji_s = new_s[1], new_s[0]
            tags.add("surname_change")
        if "surname_change" in tags and truth is not None:
            mother = mothers.get(kid.household)
            if kid.household in renamed:  # a sibling's school already uses the mother's new surname
                kana_s, kanji_s = renamed[kid.household][1], renamed[kid.household][0]
                tags.add("surname_change+guardian")
            elif mother is not None and mother.surname != (kanji_s, kana_s) \
                    and c(cases.guardian_carries_new_surname):
                mother.surname = renamed[kid.household] = (kanji_s, kana_s)  # the registry has her 氏の変更
                tags.add("surname_change+guardian")
            if c(cases.move_given_change):
                moved = True
                address = _address(crng)[1]  # and the school has the new address, the registry the old one
                tags.add("surname_change+move")
            if c(cases.dob_given_change):
                born = slip_date(born, crng)
                tags |= {"surname_change+dob", "dob_typo"}
        if r(0.03):
            kana_g = _slip_kana(kana_g, rng)
        if r(0.03):
            kanji_g = _slip_kanji(kanji_g, rng)
        if r(0.02):
            kanji_s = _slip_kanji(kanji_s, rng)
        kanji_key: str | None = kanji_s + kanji_g
        if r(0.05):
            kanji_key = None  # kana only in the school file
        if r(0.015):
            born = slip_date(born, rng)
            tags.add("dob_typo")
        if r(0.003):
            sex = "2" if sex == "1" else "1"
        sex_given: str | None = sex
        if c(cases.blank_sex):
            sex_given = None
            tags.add("blank_sex")
        if kanji_key and c(cases.blank_kana):
            tags.add("blank_kana")
        unseparated_kanji, unseparated_kana = c(cases.unseparated_kanji), c(cases.unseparated_kana)
        name_kanji = (kanji_s + kanji_g if unseparated_kanji else f"{kanji_s} {kanji_g}") if kanji_key else None
        if unseparated_kanji and kanji_key:
            tags.add("unseparated_kanji")
        name_kana, surname_key, given_key = kana_parts(kana_s, kana_g, unseparated_kana, name_kanji)
        if unseparated_kana:
            tags.add("unseparated_kana")
        if "surname_change" in tags and (unseparated_kana or (unseparated_kanji and kanji_key)):
            tags.add("surname_change+unseparated")
        kana_key: str | None = fold_kana(kana_s + kana_g)
        surname_key, given_key = _kana(surname_key), _kana(given_key)
        kanji_key = fold_kanji(kanji_key) if kanji_key else None
        if "blank_kana" in tags:  # as ingest leaves a 氏名 without カナ: only the surname's listed reading
            name_kana, given_key, kana_key = None, None, None
            surname_key = surname_reading(name_kanji) if name_kanji and surname_reading is not None else None
        addr: str | None = address
        roll = rng.random()
        if moved:
            pass  # the school has the new address (the registry still the old one)
        elif roll < 0.25 * noise:
            addr = None
        elif roll < 0.32 * noise:
            addr = _address(rng)[1]  # an old address from before a move
        elif roll < 0.40 * noise:
            addr = address.rsplit("-", 1)[0]  # 号 missing
        # the school: the 指定校 of where the child lives; a child not in the registry goes to its own address's school;
        # after a move the registry does not know yet, half changed school, half stay (区域外就学 to the year's end);
        # 3 % attend another school than the designated one (指定校変更, 区域外就学)
        if truth is None or (moved and srng.random() < 0.5):
            school = designated_school(address, true_born, as_of)
        else:
            school = designated_school(kid.address, kid.birth, as_of)
            if srng.random() < 0.03:
                school = _other_school(school, srng)
        keys = PersonKeys(role="subject", name_kanji=name_kanji,
                          name_kana=name_kana, student_id=f"{prefix}S{n:07d}",
                          school_code=school,  # type: ignore[arg-type]
                          kana_key=kana_key, surname_kana_key=surname_key, given_kana_key=given_key,
                          kanji_key=kanji_key, birth_date=born.isoformat(), sex=sex_given, address_key=addr)  # type: ignore[arg-type]
        pop.tags[f"{prefix}stu-{n}"] = tags
        record = RecordV1(record_id=f"{prefix}stu-{n}", system="school_students",
                          event_type="school_students.student.registered", occurred_at="2025-05-01T09:00:00+09:00",
                          record_date=None, persons=[keys], attributes={"grade": 1 + (n % 9)})
        pop.students.append((record, truth))
    rng.shuffle(pop.students)
