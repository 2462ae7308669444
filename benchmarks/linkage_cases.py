"""Source data as it really arrives, for the linkage benchmark (issue 14): blank optional fields, names without a
space, surname changes together with a move or a birth-date typo, and unregistered children with a namesake in
the registry born a few weeks apart. Every school record is tagged with the cases it carries, so the benchmark
can report each case as its own row.

Rates are per school record, chosen from what city 校務系 exports show: ≈ 10 % without 性別, a few percent without
カナ or 氏名, ≈ 10 % of names written without a space (half of them in one script only), 2 % surname changes of
which about half came with a move (divorce) and one in ten with a birth-date typo.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from services.ingest.domain.normalise import kana_key

try:  # ingest's own split of an unseparated カナ (absent in older checkouts: then nothing is split)
    from services.ingest.domain.surnames import split_kana
except ImportError:  # pragma: no cover
    split_kana = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Cases:
    blank_sex: float = 0.10
    blank_kana: float = 0.02  # kanji only (kana only is the synth's own 5 %)
    unseparated_kanji: float = 0.07
    unseparated_kana: float = 0.07  # independent: ≈ 0.5 % have neither script separated
    surname_change: float = 0.02
    move_given_change: float = 0.5  # of surname changes: the school has the new address, the registry the old
    dob_given_change: float = 0.1  # of surname changes: and a birth-date typo
    # of surname changes of a registry child: the registry already shows the new surname on the mother, in the
    # child's 世帯 (her 氏の変更 on divorce, or her remarriage, is a 住民記録 異動 the day it is filed); the rest
    # is a school ahead of the registry (a mother's change not filed yet, a child living apart from her)
    guardian_carries_new_surname: float = 0.8
    near_namesake: float = 0.003  # an unregistered child named like a registry child born 14–35 days apart


NONE = Cases(0, 0, 0, 0, 0, 0, 0, 0, 0)


def slip_date(born: date, rng: random.Random) -> date:
    """A keying error of the shapes that really occur: day/month swapped, a day or two off, one digit wrong,
    a 和暦 year off by one."""
    roll = rng.random()
    if roll < 0.3 and born.day <= 12 and born.month != born.day:
        return date(born.year, born.day, born.month)
    if roll < 0.6:
        return born + timedelta(days=rng.choice([-2, -1, 1, 2]))
    if roll < 0.85:
        for _ in range(20):
            text = born.strftime("%Y%m%d")
            i = rng.choice([3, 4, 5, 6, 7])  # the year's last digit, month, day (no birth date in the future)
            typed = text[:i] + str(rng.randrange(10)) + text[i + 1:]
            try:
                slipped = date(int(typed[:4]), int(typed[4:6]), int(typed[6:]))
            except ValueError:
                continue
            if slipped != born:
                return slipped
    year = born.year + rng.choice([-1, 1])  # the 和暦 year off by one: the birthday stays (29 Feb → 28 Feb)
    return date(year, born.month, 28 if (born.month, born.day) == (2, 29) else born.day)


def kana_parts(kana_s: str, kana_g: str, unseparated: bool, kanji: str | None) -> tuple[str, str | None, str | None]:
    """name_kana, surname and given keys as ingest leaves them (split from its surname list when no space)."""
    if not unseparated:
        return f"{kana_s} {kana_g}", kana_s, kana_g
    whole = kana_s + kana_g
    split = split_kana(kana_key(whole), kanji) if split_kana is not None else None
    if split is None:
        return whole, None, None
    cut = len(split[0])  # the folding keeps lengths (サトウ → サトオ): cut the synth's own spelling there
    return whole, whole[:cut], whole[cut:]


ROWS = (
    ("all", "all school records"),
    ("blank_sex", "性別 blank"),
    ("blank_kana", "カナ blank (kanji only)"),
    ("unseparated_kanji", "氏名 without a space"),
    ("unseparated_kana", "カナ without a space"),
    ("dob_typo", "birth-date typo"),
    ("surname_change", "surname change"),
    ("surname_change+move", "surname change + move"),
    ("surname_change+dob", "surname change + birth-date typo"),
    ("surname_change+guardian", "surname change, the mother's new surname in the registry"),
    ("surname_change+unseparated", "surname change, name without a space"),
    ("near_namesake", "not in registry, namesake born 2–5 weeks apart"),
    ("unregistered", "not in registry (all)"),
)
