"""Linkage's result is a function of the records, not of the order they arrive in: the same records in every order
give every child the same facts. Kafka keeps order only within a partition, and the 16 source systems are separate
topics, so a school's record may come before the registry's record of its child (go-live loads, a backlog read
topic by topic, a 転入 registered after the first school day). docs/linkage.md, "Arrival order"."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from benchmarks.linkage_order import final_facts, reorder
from benchmarks.stage_cpu import run_ingest, run_linkage
from contracts.topics.ingest_records import RecordV1
from services.ingest.service_layer.handlers import SourceMessage
from services.linkage.domain.identity import atena_key, person_id_for, student_key
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import noise_records, person, record, resident, reviews, run, student

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]


def final(records: list[RecordV1], before: Sequence[RecordV1] = ()) -> tuple[dict[tuple[str, str], Any], LinkageState]:
    """Every record through one state; the facts each child holds at the end (asserted, without versions)."""
    state = LinkageState()
    for rec in before:
        run(state, rec)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        for o in run(state, rec).out:
            if o.channel == "fact":
                latest[(o.payload["child_id"], o.payload["fact_id"])] = o.payload
    held = {at: (p["kind"], p["relation"], json.dumps(p["attributes"], sort_keys=True))
            for at, p in latest.items() if p["status"] == "asserted"}
    return held, state


def same_in_every_order(records: list[RecordV1], before: Sequence[RecordV1] = ()) -> dict[tuple[str, str], Any]:
    first, _ = final(records, before)
    for order in itertools.permutations(records):
        assert final(list(order), before)[0] == first, [r.system for r in order]
    return first


def attendance(student_id: str) -> RecordV1:
    return record("school_affairs", "school_affairs.attendance.reported", [person(student_id=student_id)],
                  school_year=2025, month=6, absence_days=9, late_arrivals=0)


def test_a_school_record_before_its_registry_child_ends_on_that_child() -> None:
    child = resident("50", "H50", birth="2016-05-05", name_kana="ハコザキ ミオ", name_kanji="箱崎 澪", sex="2")
    held = same_in_every_order([child, student("S50", "ハコザキ ミオ", "箱崎 澪", "2016-05-05", sex="2"),
                                attendance("S50")])
    assert {(c, kind) for (c, _), (kind, _, _) in held.items()} == {
        (person_id_for(atena_key("50")), k) for k in ("residence", "school_enrolment", "attendance")}


def test_the_student_identity_made_before_the_registry_child_merges_into_it() -> None:
    state = LinkageState()
    run(state, student("S51", "ハコザキ ミオ", "箱崎 澪", "2016-05-05", sex="2"))
    alone = person_id_for(student_key("S51"))
    out = run(state, resident("51", "H51", birth="2016-05-05", name_kana="ハコザキ ミオ", name_kanji="箱崎 澪",
                              sex="2")).out
    registered = person_id_for(atena_key("51"))
    assert state.person_for_key(student_key("S51")).person_id == registered  # the registry's id is kept
    assert (state.persons[alone].status, state.persons[alone].merged_into) == ("merged", registered)
    moved = {(o.payload["child_id"], o.payload["status"]) for o in out
             if o.channel == "fact" and o.payload["kind"] == "school_enrolment"}
    assert moved == {(alone, "retracted"), (registered, "asserted")}


def test_a_review_opened_before_the_child_arrived_is_settled_by_its_arrival() -> None:
    late = resident("60", "H60", birth="2016-04-02", name_kana="フクオカ タロ", name_kanji="福岡 汰朗",
                    address="福岡市中央区天神1-1")
    school = student("S60", "フクオカ タロ", "福岡 汰朗", "2016-04-02", address="中央区天神1-1")
    crowd = noise_records()
    # before 汰朗 is registered, his school record is a review against 福岡 太郎 (TARO): the key waits unbound
    state = LinkageState()
    for rec in crowd:
        run(state, rec)
    assert [c["reason"] for c in reviews(run(state, school))] == ["uncertain_match"]
    held = same_in_every_order([late, school, attendance("S60")], before=crowd)
    assert (person_id_for(atena_key("60")), "attendance") in {(c, kind) for (c, _), (kind, _, _) in held.items()}
    _, state = final([school, late], before=crowd)
    [case] = [r for r in state.reviews.values() if r.subject_key == student_key("S60")]
    assert case.decision is not None and case.decision["decision"] == "must_link"
    assert case.decision["decided_by"] == "linkage" and case.decision["person_id"] == person_id_for(atena_key("60"))


def test_a_birth_date_conflict_is_found_whichever_comes_first() -> None:
    child = resident("70", "H70", birth="2016-04-02", name_kana="メイノハマ ケン", name_kanji="姪浜 健")
    named = record("school_students", "school_students.student.registered",
                   [person(atena_no="70", student_id="S70", school_code="SC1", birth_date="2016-05-02",
                           kana_key="メイノハマケン")], grade=3)
    held = same_in_every_order([child, named, attendance("S70")])
    assert {kind for (_, _), (kind, _, _) in held.items()} == {"residence"}  # the school's facts wait for the clerk
    for order in ([child, named], [named, child]):
        _, state = final(order)
        assert state.person_for_key(student_key("S70")) is None
        assert [r.reason for r in state.reviews.values()] == ["birth_date_conflict"]


def test_a_small_city_gives_every_child_the_same_facts_in_any_order(tmp_path: Path) -> None:
    """The simulator's city (scale 0.002, 120 days: ≈ 8 500 source events) through ingest and linkage in the
    generated order, one source topic after another in reverse (every school record before the registry: without
    matching again on arrival, 400-odd children split in two) and the topics' partitions interleaved at random."""
    path = tmp_path / "city.jsonl"
    subprocess.run([sys.executable, "-m", "simulator", "generate", "--seed", "7", "--scale", "0.002", "--days", "120",
                    "--out", str(path), "--no-progress"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   timeout=300)
    messages = []
    for offset, line in enumerate(path.read_text().splitlines()):
        row = json.loads(line)
        value = row["value"] if isinstance(row["value"], str) else json.dumps(row["value"], ensure_ascii=False)
        messages.append(SourceMessage(row["topic"], 0, offset, (row.get("key") or "").encode(), value.encode(), [],
                                      1_754_000_000.0 + offset / 1000))
    results = {order: final_facts(run_linkage(run_ingest(reorder(messages, order))))
               for order in ("generated", "topics-reversed", "streams-1")}
    generated = results.pop("generated")
    assert len(generated) > 400
    for order, facts in results.items():
        differ = sorted(c for c in set(generated) | set(facts) if generated.get(c) != facts.get(c))
        assert differ == [], f"{order}: {len(differ)} children's facts differ"
