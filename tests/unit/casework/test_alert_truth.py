"""The benchmark's alert truth (benchmarks/alert_truth.py) over casework's real intake: what it expects of a
flagged child whose ward is on no record yet.

Found by ``benchmarks.scoring_truth --scale 0.005 --days 200 --alerts``: a child born on the last day of the
period, covered by its mother's 児童扶養手当 (item 19, 見守り) from birth, whose 出生届 — the only record that names a
ward — falls after the end. Casework held the listing, as designed, and the truth counted the child missing in
every arrival order; once the ward arrives the held listing is raised.
"""

from __future__ import annotations

from datetime import date

import orjson
import pytest

from benchmarks.alert_truth import ORDERS, AlertTruth, CaseworkStage, compare_alerts, report
from benchmarks.scoring_truth import RecordOwners
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.unit

CHILD = "c-newborn"
BORN = "2025-10-17"


def newborn_flagged_before_its_birth_registration(stage: CaseworkStage) -> None:
    """The last day: 母子保健's birth record and the allowance put the child in linkage, with no ward yet."""
    stage.add("profile", raw(profile_event(CHILD, None, birth_date=BORN, version=1, event_id="p-1")))
    stage.add("flags", raw(flags_event(CHILD, None, None, [19], tier_after="見守り", as_of=BORN, event_id="f-1")))
    stage.end_of_day(date(2025, 10, 17))


def truth(unplaced: set[str]) -> AlertTruth:
    return AlertTruth(expected={CHILD: "175261643185"}, ever_flagged={CHILD}, ward_at_end={CHILD: "40132"},
                      unplaced=unplaced)


@pytest.mark.parametrize("order", ORDERS)
def test_a_newborn_flagged_before_its_birth_registration_is_expected_held_not_missing(order: str) -> None:
    stage = CaseworkStage(order)
    newborn_flagged_before_its_birth_registration(stage)
    result = compare_alerts(stage, truth(unplaced={CHILD}))
    assert (result.alerted, result.held, result.missing, result.stuck) == (0, 1, [], [])
    assert report([result])[-1].startswith("alerts vs ground truth: EXACT")
    # The 出生届 arrives: the held listing is raised in the child's ward, and the child is alerted, not held.
    stage.add("profile", raw(profile_event(CHILD, "40132", birth_date=BORN, version=2, ward_since=BORN,
                                           event_id="p-2")))
    stage.end_of_day(date(2025, 10, 20))
    [alert] = stage.alerts()
    assert alert[1:6] == (CHILD, "40132", "見守り", (19,), "entered_tier")
    placed = compare_alerts(stage, truth(unplaced=set()))
    assert (placed.alerted, placed.held, placed.missing, placed.stuck) == (1, 0, [], [])


def test_a_listing_held_although_the_truth_has_the_ward_on_record_is_stuck_and_missing() -> None:
    """A held listing is never an excuse when the ward is on record: casework should have raised it."""
    stage = CaseworkStage("as-produced")
    newborn_flagged_before_its_birth_registration(stage)
    result = compare_alerts(stage, truth(unplaced=set()))
    assert (result.held, result.missing, result.stuck) == (0, [CHILD], [CHILD])
    assert report([result])[-1] == "alerts vs ground truth: MISMATCH"


def test_a_child_the_truth_has_in_no_ward_with_nothing_held_is_missing() -> None:
    stage = CaseworkStage("as-produced")
    stage.end_of_day(date(2025, 10, 17))  # casework never heard of the child
    result = compare_alerts(stage, truth(unplaced={CHILD}))
    assert (result.held, result.missing) == (0, [CHILD])


def test_only_a_resident_registry_record_places_a_person_in_a_ward() -> None:
    owners = RecordOwners()
    for event_id, event_type, persons in [
        ("e-1", "maternal_child_health.birth.recorded", {"mother": "T00000759", "child": "T00008128"}),
        ("e-2", "child_allowance.eligibility.started", {"recipient": "T00000759", "covered": "T00008128"}),
        ("e-3", "resident_registry.person.registered", {"atena_no": "T00000760"}),
        ("e-4", "resident_registry.person.changed", {"atena_no": "T00000759"}),
        ("e-5", "resident_registry.person.left", {"atena_no": "T00000761"}),
    ]:
        owners.write(orjson.dumps({"id": event_id, "type": event_type, "persons": persons, "household": None,
                                   "noise": []}).decode())
    assert owners.placed == {"T00000759", "T00000760"}
    assert owners.persons["e-1"] == {"T00000759", "T00008128"}
