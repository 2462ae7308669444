"""The shared words (contracts/vocabulary.py) agree with the places that hold more than the words."""

from __future__ import annotations

import pytest

from contracts import vocabulary
from services.ingest.domain.normalise import WARD_CODES
from services.scoring.domain.rules import RULE_SPECS, SIGNAL_SPECS
from simulator.wards import WARDS as SIMULATED_WARDS

pytestmark = pytest.mark.unit


def test_the_simulated_city_has_exactly_the_seven_wards() -> None:
    assert {w.code: w.name for w in SIMULATED_WARDS} == vocabulary.WARDS


def test_ingest_maps_every_ward_name_to_its_code() -> None:
    assert {code: name for name, code in WARD_CODES.items()} == vocabulary.WARDS


def test_scoring_has_one_rule_per_labelled_item_and_signal() -> None:
    assert sorted(RULE_SPECS) == sorted(vocabulary.ITEM_LABELS) == list(vocabulary.ITEM_NUMBERS)
    assert set(SIGNAL_SPECS) == set(vocabulary.SIGNAL_LABELS)


def test_tiers_are_ordered_highest_first_and_match_the_flags_contract() -> None:
    from contracts.topics.scoring_flags import AssessmentV1

    assert vocabulary.TIERS == ("重点", "予防", "見守り")
    assert AssessmentV1.model_validate({"tier": "予防"}).tier == "予防"
    with pytest.raises(ValueError):
        AssessmentV1.model_validate({"tier": "最重点"})
