"""What linkage remembers of the facts it sent (issue 19): per child a relation, a version and whether retracted, the
source fact's body shared, instead of a payload per child. Payloads built back are the bytes that were sent, a
state stored by a release that kept the payloads loads and carries on the same, and an attribute that changes
only its JSON type (1 → true) is neither re-sent nor lost."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from services.linkage.domain.attribution import reconcile
from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.model import SourceFact
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import assistance, facts, left, resident, run

pytestmark = pytest.mark.unit


def _child(atena: str) -> str:
    return person_id_for(atena_key(atena))


def _records() -> list[Any]:
    return [resident("2001", "H1", birth="1990-01-01", reason="initial_load", effective="2024-01-01"),
            resident("1001", "H1", birth="2020-05-01", reason="move_in", effective="2024-04-01"),
            assistance("started", "C1", "H1", "2001", "2025-04-01"),
            resident("1002", "H1", birth="2022-05-01", name_kana="フクオカ ジロウ", reason="move_in",
                     effective="2025-05-01"),
            left("1001", "H1", "2025-06-15"),
            resident("1001", "H1", birth="2020-05-01", reason="move_in", effective="2025-08-01"),
            assistance("ended", "C1", "H1", "2001", "2025-09-30"),
            left("1002", "H1", "2025-10-15")]


def _legacy_row(sf: SourceFact) -> dict[str, Any]:
    """The row a release that kept every payload stored: ``emitted`` by fact id, no ``sent`` or ``body``."""
    row = {k: v for k, v in sf.to_dict().items() if k not in ("sent", "body")}
    row["emitted"] = {p["fact_id"]: p for p in sf.payloads()}
    return json.loads(orjson.dumps(row))


def _sent(records: list[Any], legacy_after: int | None = None) -> list[bytes]:
    state, out = LinkageState(), []
    for i, rec in enumerate(records):
        out += [orjson.dumps(f) for f in facts(run(state, rec))]
        if i == legacy_after:  # stored by the older release, loaded by this one
            for key, sf in list(state.source_facts.items()):
                state.source_facts[key] = SourceFact.from_dict(_legacy_row(sf))
    return out


def test_a_state_stored_with_payloads_loads_and_sends_what_an_uninterrupted_run_sends() -> None:
    records = _records()
    uninterrupted = _sent(records)
    assert any(json.loads(f)["status"] == "retracted" for f in uninterrupted)
    for cut in range(len(records)):
        assert _sent(records, legacy_after=cut) == uninterrupted, cut


def test_payloads_are_built_back_as_sent_and_survive_the_store() -> None:
    state, sent = LinkageState(), {}
    for rec in _records()[:5]:
        for f in facts(run(state, rec)):
            sent[f["fact_id"]] = f
    sf = state.source_facts["public_assistance|C1"]
    assert len(sf.sent) == 2 and sf.emitted == {fid: p for fid, p in sent.items() if p["kind"] == "public_assistance"}
    assert any(p["status"] == "retracted" for p in sf.payloads())
    stored = SourceFact.from_dict(json.loads(orjson.dumps(sf.to_dict())))
    assert [orjson.dumps(p) for p in stored.payloads()] == [orjson.dumps(p) for p in sf.payloads()]
    assert stored.body is not None and stored.body[6] is stored.attributes  # not stored twice
    legacy = SourceFact.from_dict(_legacy_row(sf))
    assert legacy.sent == sf.sent and all(not isinstance(e, dict) for e in legacy.sent.values())
    assert legacy.body is not None and legacy.body[6] is legacy.attributes


def test_a_payload_this_release_would_not_build_is_kept_as_stored() -> None:
    state = LinkageState()
    for rec in _records()[:4]:
        run(state, rec)
    sf = state.source_facts["public_assistance|C1"]
    row = _legacy_row(sf)
    odd = next(iter(row["emitted"].values()))
    odd["extra"] = "from an older release"
    loaded = SourceFact.from_dict(row)
    assert loaded.sent[odd["child_id"]] == odd
    state.source_facts[sf.key] = loaded
    [retraction] = [f for f in facts(run(state, left("1001", "H1", "2025-06-15"))) if f["kind"] == "public_assistance"]
    assert retraction == {**odd, "status": "retracted", "version": odd["version"] + 1}


def test_an_attribute_changing_only_its_json_type_is_not_resent_and_what_was_sent_is_kept() -> None:
    """Python's 1 == True: the payload compares equal, so it is not sent again (as before), but a payload sent now
    says true, and a retraction of the earlier one says 1."""
    state = LinkageState()
    for rec in _records()[:3]:
        run(state, rec)
    sf = state.source_facts["public_assistance|C1"]
    sf.attributes = {**sf.attributes, "n": 1}
    [first] = reconcile(sf, state)
    assert first["attributes"]["n"] == 1 and first["version"] == 2
    sf.attributes = {**sf.attributes, "n": True}
    assert reconcile(sf, state) == []
    out = facts(run(state, resident("1002", "H1", birth="2022-05-01", name_kana="フクオカ ジロウ", reason="move_in",
                                    effective="2025-05-01")))
    [second] = [f for f in out if f["kind"] == "public_assistance"]
    assert second["child_id"] == _child("1002") and orjson.dumps(second["attributes"]["n"]) == b"true"
    out = facts(run(state, left("1001", "H1", "2025-06-15")))
    [retraction] = [f for f in out if f["kind"] == "public_assistance"]
    assert retraction["child_id"] == _child("1001") and orjson.dumps(retraction["attributes"]["n"]) == b"1"
    kept = {p["child_id"]: orjson.dumps(p["attributes"]["n"]) for p in sf.payloads()}
    assert kept == {_child("1001"): b"1", _child("1002"): b"true"}
