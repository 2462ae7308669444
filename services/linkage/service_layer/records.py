"""Handles one ingest record: identify its persons, update the registry and source facts, attribute."""

from __future__ import annotations

from contracts.topics.ingest_records import RecordV1
from services.linkage.domain.identity import is_minor
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.model import Birth, SourceFact
from services.linkage.domain.systems import SPECS, end_of, fact_attributes, start_of
from services.linkage.service_layer.decisions import apply_deferred
from services.linkage.service_layer.identify import identify, open_review
from services.linkage.service_layer.registry import apply_registry
from services.linkage.service_layer.unit import Change, Out


class Result:
    def __init__(self, outcome: str, out: list[Out]) -> None:
        self.outcome = outcome
        self.out = out


def _outcome(ch: Change) -> str:
    for outcome in ("review", "new", "linked", "pending"):
        if outcome in ch.outcomes:
            return outcome
    return "linked"


def _upsert_fact(record: RecordV1, refs: dict[str, list[str]], ch: Change) -> None:
    spec = SPECS.get(record.event_type)
    if spec is None:
        ch.outcomes.add("ignored")
        return
    attrs = dict(record.attributes)
    key_part = spec.key(attrs, refs)
    if key_part is None:
        ch.outcomes.add("pending")
        return
    key = f"{spec.kind}|{key_part}"
    ref_list = [[role, k] for role, keys in sorted(refs.items()) for k in keys]
    sf = ch.state.source_facts.get(key)
    if sf is None:
        sf = SourceFact(key=key, kind=spec.kind, system=record.system, scope=spec.scope, refs=ref_list,
                        record_id=record.record_id)
    elif spec.ends:
        sf.refs += [r for r in ref_list if r not in sf.refs]
    else:
        sf.refs = ref_list
    sf.record_id, sf.record_date = record.record_id, record.record_date
    sf.household_no = record.household_no if spec.scope == "household" else sf.household_no
    pregnancy = attrs.get("pregnancy_id")
    sf.pregnancy_id = pregnancy if isinstance(pregnancy, str) else sf.pregnancy_id
    sf.attributes = {**sf.attributes, **fact_attributes(attrs)} if spec.ends else fact_attributes(attrs)
    if spec.ends:
        sf.valid_to = end_of(attrs, record.record_date)
    else:
        sf.valid_from = start_of(attrs, record.record_date)
        sf.valid_to = None
    ch.state.put_source_fact(sf)
    ch.source_facts.add(key)


def _apply_birth(record: RecordV1, refs: dict[str, list[str]], ch: Change) -> None:
    mothers, children = refs.get("mother", []), refs.get("child", [])
    if not mothers or not children:
        return
    birth_date = record.attributes.get("birth_date")
    pregnancy = record.attributes.get("pregnancy_id")
    if not isinstance(pregnancy, str):
        pregnancy = _open_pregnancy(mothers[0], birth_date if isinstance(birth_date, str) else None, ch)
    birth = Birth(mothers[0], children[0], birth_date if isinstance(birth_date, str) else None, pregnancy)
    if ch.state.add_birth(birth):
        ch.tokens |= {f"births:{birth.mother_key}"} | ({f"preg:{pregnancy}"} if pregnancy else set())
    child = ch.state.person_for_key(children[0])
    if child is not None and birth.birth_date and child.birth_date is None:
        ch.person_changed(child, ch.state.update_person(child, {"birth_date": birth.birth_date}))
    if child is not None and not child.is_child and is_minor(birth.birth_date or child.birth_date,
                                                              record.record_date or birth.birth_date):
        ch.person_changed(child, ch.state.update_person(child, {"is_child": True}) | {f"person:{child.person_id}"})
    mother = ch.state.person_for_key(mothers[0])
    if (child is not None and child.status == "known" and child.household_no is None and mother is not None
            and mother.status == "resident" and mother.household_no):
        # A newborn lives in its mother's household from the day it is born; the registry's 出生届 follows up to
        # 14 days later. Until then the household's facts (生活保護 …) reach the child through its mother.
        ch.person_changed(child, ch.state.update_person(child, {"household_no": mother.household_no,
                                                                "status": "resident"}))


def _open_pregnancy(mother_key: str, birth_date: str | None, ch: Change) -> str | None:
    """A birth without its 妊娠届 number: the mother's latest notified pregnancy not yet ended in a birth."""
    open_ones = [sf for key in ch.state.dependents({f"key:{mother_key}"})
                 if (sf := ch.state.source_facts[key]).kind == "pregnancy_notified" and sf.pregnancy_id
                 and sf.pregnancy_id not in ch.state.birth_by_pregnancy
                 and (birth_date is None or (sf.valid_from or "") <= birth_date)]
    return max(open_ones, key=lambda sf: sf.valid_from or "").pregnancy_id if open_ones else None


def handle_record(record: RecordV1, ch: Change, match_settings: MatchSettings) -> Result:
    state = ch.state
    if record.record_id in state.processed:
        return Result("duplicate", [])
    refs = identify(record, ch, match_settings)
    if record.system == "resident_registry":
        apply_registry(record, refs, ch, match_settings)
    else:
        if record.event_type == "maternal_child_health.birth.recorded":
            _apply_birth(record, refs, ch)
        if refs:
            _upsert_fact(record, refs, ch)
    if not record.persons:
        open_review(record, None, "no_persons_in_record", ch)
    state.mark_processed(record.record_id, ch.bound)
    if record.record_id in state.deferred_by_record:
        apply_deferred(record.record_id, ch, match_settings)
    state.settle_processed(record.record_id)
    return Result(_outcome(ch), ch.finish())
