"""Parsing a child's facts for a full evaluation: ``Fact.from_dict`` builds what the dataclass's constructor builds,
and the horizon's ``ChildFacts.dates`` reads the kinds not yet parsed from their JSON with the same dates as the
parsed facts carry (docs/scoring.md, "CPU")."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.domain.facts import ChildFacts, Fact, parse_date
from tests.unit.scoring.factories import fact_dict

pytestmark = pytest.mark.unit

_DAY = st.one_of(st.none(), st.dates(date(2000, 1, 1), date(2040, 12, 31)).map(date.isoformat),
                 st.sampled_from(["", "2026-02-30", "2026-06-01T10:00:00+09:00", "not a date at all"]))
_VALUE = st.one_of(_DAY, st.integers(-5, 5), st.booleans(), st.floats(allow_nan=False), st.text(max_size=12))
_KIND = st.sampled_from(["residence", "birth", "infant_checkup", "survey", "medical_subsidy", "allowance"])


@st.composite
def raw_facts(draw: st.DrawFn) -> dict[str, Any]:
    attributes = draw(st.dictionaries(st.sampled_from(["birth_date", "checkup_date", "ward_code", "weight_kg",
                                                       "resident_since", "note"]), _VALUE, max_size=4))
    raw = fact_dict(draw(_KIND), valid_from=draw(_DAY), valid_to=draw(_DAY), **attributes)
    raw["record_date"] = draw(_DAY)
    if draw(st.booleans()):
        del raw["attributes"]
    return raw


def _constructed(raw: dict[str, Any]) -> Fact:
    """What ``from_dict`` built before: the dataclass's own constructor."""
    return Fact(fact_id=raw["fact_id"], kind=raw["kind"], relation=raw["relation"],
                source_system=raw["source_system"], record_id=raw["record_id"], record_date=raw.get("record_date"),
                valid_from=parse_date(raw.get("valid_from")), valid_to=parse_date(raw.get("valid_to")),
                attributes=raw.get("attributes") or {})


@settings(max_examples=300, deadline=None)
@given(raw_facts())
def test_a_fact_parsed_from_its_json_is_the_one_its_constructor_builds(raw: dict[str, Any]) -> None:
    fact, reference = Fact.from_dict(raw), _constructed(raw)
    assert fact == reference and repr(fact) == repr(reference)
    assert fact.recorded_on == reference.recorded_on and fact.date_attributes == reference.date_attributes
    with pytest.raises(AttributeError):
        fact.kind = "other"  # type: ignore[misc]  # still frozen


@settings(max_examples=200, deadline=None)
@given(st.lists(raw_facts(), max_size=8), st.sets(_KIND))
def test_the_horizons_dates_are_the_parsed_facts_dates_whichever_kinds_were_parsed(
        raws: list[dict[str, Any]], parsed_first: set[str]) -> None:
    expected = sorted(d for raw in raws for d in _constructed(raw).dates())
    facts = ChildFacts.from_raw(raws)
    for kind in parsed_first:  # the kinds the rules asked for before the horizon
        facts.of_kind(kind)
    assert sorted(facts.dates()) == expected
    kept = facts.keeping(["survey"], lambda f: f.valid_from is None)  # a kind narrowed: its parsed facts count
    assert sorted(kept.dates()) == sorted(d for f in kept.facts for d in f.dates())
