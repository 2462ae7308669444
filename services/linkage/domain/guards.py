"""Rules the match weights cannot overrule: namesakes born on another day, typed dates nothing confirms, and
surname changes (a human looks rather than a new identity, or rather than a link on two fields namesakes share)."""

from __future__ import annotations

from services.linkage.domain.dates import years_apart

BORN_APART = "born_years_apart"  # a namesake born years earlier or later
OTHER_DAY = "born_on_another_day"  # a namesake born on a day no typo explains, and nothing else agrees
DATE_DIFFERS = "birth_date_differs"  # born on another day, but the address or school agrees: a human looks
TYPO_UNCONFIRMED = "birth_date_typo_unconfirmed"  # one digit or a year off, and no address or school agrees
SURNAME_CHANGED = "surname_changed"  # given name and birth date agree: a human looks before a new identity
NEW_SURNAME_UNCONFIRMED = "surname_change_unconfirmed"  # given name + birth date only: namesakes share both
GIVEN_LEVELS = ("given_only", "given_inferred", "given_slip")  # surnames differ, the given name (nearly) agrees
Level = tuple[str, str | None, str | None, str, float]  # field, record value, candidate value, level, weight


def _corroborated(levels: list[Level]) -> bool:
    """Something beside name and birth date agrees: the address (or its prefix), or the school."""
    return any(lv[0] in ("address", "school_code") and lv[3] in ("exact", "fuzzy") for lv in levels)


def birth_date_guard(levels: list[Level]) -> str | None:
    """Names alone never outweigh a different birth date. Born on a day no typo explains: within two years a
    human looks if the address or school agrees, otherwise it is a namesake; further apart (an adult namesake for
    a pupil) it is someone else. A one-digit slip in the month or day links only with an address or school to confirm
    it (a year slip keeps the birthday, which namesakes born weeks apart do not)."""
    for lv in levels:
        if lv[0] != "birth_date" or not (lv[1] and lv[2]):
            continue
        if lv[3] == "disagree":
            if years_apart(lv[1], lv[2]) >= 2:
                return BORN_APART
            return DATE_DIFFERS if _corroborated(levels) else OTHER_DAY
        if lv[3] == "typo" and lv[1][5:10] != lv[2][5:10] and not _corroborated(levels):
            return TYPO_UNCONFIRMED  # month or day typed wrong: the shape of "born weeks apart" too
    return None


def new_surname_guard(levels: list[Level]) -> str | None:
    """A new surname leaves the given name and the birth date, and a namesake born that day shares both: an
    automatic link needs one more field to agree (sex, the address or school, or the new surname held by someone
    in the candidate's 世帯); else a human looks."""
    names = [lv[3] for lv in levels if lv[0] in ("kana_name", "kanji_name")]
    if not names or any(n not in GIVEN_LEVELS for n in names):
        return None
    if _corroborated(levels) or any(lv[0] in ("sex", "household_surname") and lv[3] == "exact" for lv in levels):
        return None
    return NEW_SURNAME_UNCONFIRMED


def surname_changed(levels: list[Level]) -> bool:
    """Given name (kana, and kanji where both have it) and birth date agree or nearly so (within a year), sex does
    not disagree: a surname change, perhaps with a move or a typo, never silently becomes a new identity."""
    level = {lv[0]: lv[3] for lv in levels}
    dates = next((lv for lv in levels if lv[0] == "birth_date"), None)
    if dates is None or not dates[1] or not dates[2] or years_apart(dates[1], dates[2]) > 1:
        return False  # a new surname *and* a year digit years off (2014 for 2019): a pupil is not an adult's renaming
    given = ("given_only", "given_inferred")
    kana, kanji = level.get("kana_name"), level.get("kanji_name")  # a blank script is left out, not against it
    # a kana slip in the given name counts only where the separated kanji given name agrees exactly (タナカ ウララ /
    # アオキ ララ, both 麗): a kanji given name is what a renamed child keeps
    return ((kana in given and (kanji is None or kanji in given)) or (kana is None and kanji in given)
            or (kana == "given_slip" and kanji == "given_only")) \
        and level.get("birth_date") in ("exact", "near", "typo") and level.get("sex") != "disagree"

