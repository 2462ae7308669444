"""The smoke scenario: a handful of synthetic families, each built to trigger known items of the 19.

Dates are relative to ``today`` so the facts are current whenever it runs; ids depend only on the family and
the ward, so sending the scenario twice is idempotent downstream. ``EXPECTED_ITEMS`` says which items each
family's children should carry, for demos and end-to-end tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from simulator import payloads as p
from simulator.emitter import Emitter
from simulator.events import SourceEvent
from simulator.schools import SCHOOL_DAYS, SCHOOL_YEAR_MONTHS, grade, month_year, school_code, school_year
from simulator.wards import WARD_BY_CODE, WARD_CODES, address, postal_code


@dataclass(frozen=True)
class Member:
    atena_no: str
    relation: str
    surname: tuple[str, str]  # (kanji, kana)
    given: tuple[str, str]
    birth: date
    sex: str

    @property
    def name_kanji(self) -> str:
        return f"{self.surname[0]} {self.given[0]}"

    @property
    def name_kana(self) -> str:
        return f"{self.surname[1]} {self.given[1]}"


@dataclass
class Family:
    emitter: Emitter
    today: date
    ward_code: str
    number: int
    surname: tuple[str, str]
    members: list[Member] = field(default_factory=list)

    @property
    def household_no(self) -> str:
        return f"8000{self.ward_code[-1]}{self.number:04d}000"

    @property
    def address(self) -> str:
        return address(WARD_BY_CODE[self.ward_code], self.number, 1 + self.number % 4, 3 + self.number, 7)

    def member(self, relation: str, given: tuple[str, str], birth: date, sex: str) -> Member:
        atena = f"9000{self.ward_code[-1]}{self.number:04d}{len(self.members) + 1:03d}"
        m = Member(atena, relation, self.surname, given, birth, sex)
        self.members.append(m)
        return m

    def school_code_of(self, m: Member) -> str | None:
        g = grade(m.birth, self.today)
        return school_code(self.ward_code, g, self.number) if g else None

    def register(self, m: Member, day: date, reason: str) -> None:
        ward = WARD_BY_CODE[self.ward_code]
        self.emitter.emit("resident_registry.person.registered", day, m.atena_no, p.person_record(
            atena_no=m.atena_no, household_no=self.household_no, relation=m.relation, name_kanji=m.name_kanji,
            name_kana=m.name_kana, birth_date=m.birth.isoformat(), sex=m.sex, address=self.address,
            ward_code=self.ward_code, postal_code=postal_code(ward, self.number), effective_date=day.isoformat(),
            reason=reason, school_code=self.school_code_of(m)))

    def register_all(self, day: date, skip_checkups: tuple[str, ...] = ()) -> None:
        for m in self.members:
            self.register(m, max(day, m.birth), "initial_load")
        # Children who grew up here went to their infant checkups (≈95 % do): record the ones already due, so a
        # family shows only the signals its scenario is about, not a missed checkup from years before.
        for m in self.members:
            for checkup, age_days in CHECKUP_AGES:
                when = m.birth + timedelta(days=age_days)
                if checkup in skip_checkups or when >= self.today or m.birth <= self.today - timedelta(days=18 * 365):
                    continue
                self.emitter.emit("maternal_child_health.infant_checkup.recorded", when, m.atena_no,
                                  p.infant_checkup(child=m.atena_no, checkup=checkup, checkup_date=when.isoformat(),
                                                   attended=True))


# When a child born here is seen at each infant checkup (inside the 3-4m, 1y6m and 3y windows).
CHECKUP_AGES = (("3-4m", 110), ("1y6m", 560), ("3y", 1200))


def _years_ago(today: date, years: int, month: int, day: int) -> date:
    """A birth date ``years`` old today (month/day ≤ 28 so every year has it)."""
    birthday_passed = (month, day) <= (today.month, today.day)
    return date(today.year - years - (0 if birthday_passed else 1), month, day)


def _pregnancy(f: Family, mother: Member, child: Member, *, weeks_at_notice: int, visits: int,
               epds: tuple[int, int] | None) -> None:
    """妊娠届 → 妊婦健診 → birth → 住民記録 → 産婦健診, for a child already in ``f.members``."""
    conception = child.birth - timedelta(weeks=39)
    notice = conception + timedelta(weeks=weeks_at_notice)
    preg_id = f"P{f.ward_code[-1]}{f.number:04d}"
    em = f.emitter
    em.emit("maternal_child_health.pregnancy.notified", notice, mother.atena_no, p.pregnancy_notified(
        pregnancy_id=preg_id, mother=mother.atena_no, notification_date=notice.isoformat(), weeks=weeks_at_notice,
        expected_delivery_date=child.birth.isoformat()))
    for i in range(visits):
        visit = notice + timedelta(weeks=2 + 4 * i)
        em.emit("maternal_child_health.prenatal_checkup.visited", visit, mother.atena_no,
                p.prenatal_visit(pregnancy_id=preg_id, mother=mother.atena_no, visit_date=visit.isoformat()))
    em.emit("maternal_child_health.birth.recorded", child.birth, mother.atena_no, p.birth_recorded(
        pregnancy_id=preg_id, mother=mother.atena_no, child=child.atena_no, birth_date=child.birth.isoformat(),
        birth_weight_g=2950))
    f.register(child, child.birth + timedelta(days=5), "birth")
    if epds is not None:
        checkup = child.birth + timedelta(days=14)
        em.emit("maternal_child_health.postpartum_checkup.recorded", checkup, mother.atena_no, p.postpartum_checkup(
            mother=mother.atena_no, child=child.atena_no, checkup_date=checkup.isoformat(), epds_total=epds[0],
            epds_item10=epds[1]))


def _public_assistance(f: Family, today: date) -> None:  # item 18
    head = f.member("世帯主", ("健太", "ケンタ"), _years_ago(today, 38, 6, 12), "1")
    f.member("妻", ("美咲", "ミサキ"), _years_ago(today, 36, 9, 3), "2")
    f.member("子", ("陽翔", "ハルト"), _years_ago(today, 8, 7, 21), "1")
    f.register_all(today - timedelta(days=400))
    start = today - timedelta(days=20)
    f.emitter.emit("public_assistance.case.started", start, head.atena_no, p.case_started(
        case_no=f"C{f.ward_code[-1]}{f.number:04d}", household_no=f.household_no, head_atena_no=head.atena_no,
        start_date=start.isoformat()))


def _single_parent(f: Family, today: date) -> None:  # item 19
    mother = f.member("世帯主", ("由美", "ユミ"), _years_ago(today, 34, 2, 14), "2")
    a = f.member("子", ("結衣", "ユイ"), _years_ago(today, 9, 11, 2), "2")
    b = f.member("子", ("蓮", "レン"), _years_ago(today, 4, 5, 18), "1")
    f.register_all(today - timedelta(days=300))
    start = today - timedelta(days=60)
    for allowance in ("jido_teate", "jido_fuyo_teate"):
        f.emitter.emit("child_allowance.eligibility.started", start, mother.atena_no, p.eligibility_started(
            entitlement_id=f"A{f.ward_code[-1]}{f.number:04d}{allowance[-1]}", recipient=mother.atena_no,
            covered=[a.atena_no, b.atena_no], start_date=start.isoformat(), allowance=allowance))


def _high_epds(f: Family, today: date) -> None:  # item 17
    f.member("世帯主", ("大輔", "ダイスケ"), _years_ago(today, 33, 4, 25), "1")
    mother = f.member("妻", ("彩", "アヤ"), _years_ago(today, 31, 8, 8), "2")
    f.register_all(today - timedelta(days=500))
    child = f.member("子", ("葵", "アオイ"), today - timedelta(days=40), "2")
    _pregnancy(f, mother, child, weeks_at_notice=9, visits=6, epds=(12, 0))


def _late_notification(f: Family, today: date) -> None:  # item 15
    f.member("世帯主", ("翔", "ショウ"), _years_ago(today, 29, 10, 10), "1")
    mother = f.member("妻", ("愛", "アイ"), _years_ago(today, 27, 3, 27), "2")
    f.register_all(today - timedelta(days=500))
    child = f.member("子", ("湊", "ミナト"), today - timedelta(days=70), "1")
    _pregnancy(f, mother, child, weeks_at_notice=14, visits=5, epds=(4, 0))


def _no_prenatal_care(f: Family, today: date) -> None:  # items 15, 16, 17, 19: several signals at once
    mother = f.member("世帯主", ("千尋", "チヒロ"), _years_ago(today, 22, 1, 19), "2")
    f.register_all(today - timedelta(days=700))
    child = f.member("子", ("大和", "ヤマト"), today - timedelta(days=100), "1")
    _pregnancy(f, mother, child, weeks_at_notice=24, visits=0, epds=(10, 1))
    start = today - timedelta(days=50)
    f.emitter.emit("child_allowance.eligibility.started", start, mother.atena_no, p.eligibility_started(
        entitlement_id=f"A{f.ward_code[-1]}{f.number:04d}e", recipient=mother.atena_no, covered=[child.atena_no],
        start_date=start.isoformat(), allowance="jido_fuyo_teate"))


def _attendance_year(today: date) -> tuple[int, list[int]]:
    """The school year and its complete months so far; early in April–May, the previous (whole) year."""
    year = school_year(today)
    months = [m for m in SCHOOL_YEAR_MONTHS if date(month_year(year, m), m, 1) < today.replace(day=1)]
    if len(months) < 3:
        return year - 1, list(SCHOOL_YEAR_MONTHS)
    return year, months


def _spread(total: int, months: list[int]) -> list[int]:
    """Spreads ``total`` over the months in proportion to their school days, never above them."""
    days = [SCHOOL_DAYS[m] for m in months]
    out = [min(d, total * d // sum(days)) for d in days]
    i = 0
    while sum(out) < total and any(o < d for o, d in zip(out, days, strict=True)):
        if out[i % len(out)] < days[i % len(out)]:
            out[i % len(out)] += 1
        i += 1
    return out


def _school_absences(f: Family, today: date) -> None:  # items 12 (absences) and 13 (late arrivals)
    f.member("世帯主", ("誠", "マコト"), _years_ago(today, 45, 12, 1), "1")
    f.member("妻", ("恵", "メグミ"), _years_ago(today, 43, 7, 7), "2")
    absent = f.member("子", ("翼", "ツバサ"), _years_ago(today, 13, 6, 30), "1")
    late = f.member("子", ("さくら", "サクラ"), _years_ago(today, 10, 10, 15), "2")
    f.register_all(today - timedelta(days=900))
    year, months = _attendance_year(today)
    for child, absences, lates in ((absent, 35, 3), (late, 2, 24)):
        sid, code = f"S9{f.ward_code[-1]}{child.atena_no[-6:]}", f.school_code_of(child)
        april = date(year, 4, 8)
        g = grade(child.birth, april)
        assert code is not None and g is not None  # the birth dates above are of school age
        f.emitter.emit("school_students.student.registered", april, sid, p.student_record(
            student_id=sid, school_code=code, name_kanji=child.name_kanji, name_kana=child.name_kana,
            birth_date=child.birth.isoformat(), sex=child.sex, grade=g, class_name=f"{1 + f.number % 3}組",
            atena_no=child.atena_no, address=f.address))
        for month, a, late_n in zip(months, _spread(absences, months), _spread(lates, months), strict=True):
            reported = date(month_year(year, month), month, 1) + timedelta(days=35)
            f.emitter.emit("school_affairs.attendance.reported", min(reported, today), sid, p.attendance(
                student_id=sid, school_code=code, school_year=year, month=month, absence_days=a,
                late_arrivals=late_n, school_days=SCHOOL_DAYS[month]))


def _disability_and_missed_checkup(f: Family, today: date) -> None:  # items 11 and 3
    f.member("世帯主", ("拓也", "タクヤ"), _years_ago(today, 40, 5, 5), "1")
    f.member("妻", ("直美", "ナオミ"), _years_ago(today, 39, 11, 11), "2")
    child = f.member("子", ("悠真", "ユウマ"), _years_ago(today, 4, 1, 9), "1")
    f.register_all(today - timedelta(days=1200), skip_checkups=("3y",))
    issued = today - timedelta(days=90)
    f.emitter.emit("disability.certificate.issued", issued, child.atena_no, p.certificate_issued(
        certificate_no=f"D{f.ward_code[-1]}{f.number:04d}", atena_no=child.atena_no,
        certificate="child_support_recipient", developmental=False, grade=None, issue_date=issued.isoformat()))
    window_end = child.birth + timedelta(days=3 * 365 + 180)
    f.emitter.emit("maternal_child_health.infant_checkup.recorded", min(window_end, today), child.atena_no,
                   p.infant_checkup(child=child.atena_no, checkup="3y", checkup_date=min(window_end, today)
                                    .isoformat(), attended=False))


SCENARIOS = (
    ("public_assistance", ("山本", "ヤマモト"), _public_assistance, (18,)),
    ("single_parent", ("中村", "ナカムラ"), _single_parent, (19,)),
    ("high_epds", ("佐藤", "サトウ"), _high_epds, (17,)),
    ("late_notification", ("田中", "タナカ"), _late_notification, (15,)),
    ("no_prenatal_care", ("小林", "コバヤシ"), _no_prenatal_care, (15, 16, 17, 19)),
    ("school_absences", ("伊藤", "イトウ"), _school_absences, (12, 13)),
    ("disability_missed_checkup", ("渡辺", "ワタナベ"), _disability_and_missed_checkup, (3, 11)),
)
EXPECTED_ITEMS: dict[str, tuple[int, ...]] = {name: items for name, _, _, items in SCENARIOS}


def smoke_events(today: date, ward: str | None = None) -> list[SourceEvent]:
    """The scenario's events in send order. Without ``ward`` the families spread over the seven wards."""
    events: list[SourceEvent] = []
    for number, (name, surname, build, _) in enumerate(SCENARIOS, start=1):
        ward_code = ward or WARD_CODES[(number - 1) % len(WARD_CODES)]
        family = Family(Emitter(f"smoke/{ward_code}/{name}"), today, ward_code, number, surname)
        build(family, today)
        events.extend(family.emitter.events)
    return sorted(events, key=lambda e: e.time)
