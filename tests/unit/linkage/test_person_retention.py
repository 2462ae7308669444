"""Retention of persons in linkage (docs/privacy.md "Retention in casework and linkage"): a child who left the city,
or turned 18, the period ago and is needed by nobody leaves the state and the store, its profile is tombstoned and
its facts are retracted so that scoring forgets it; a child who left recently, one whose household still has a
resident child, and a mother stay; no key goes on the deny-list (a return creates the child afresh); 0 years keeps
everyone."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.person_retention import adult_on, expired_persons, left_on
from services.linkage.service_layer.handlers import LinkageService
from services.linkage.service_layer.privacy import DELETION_RECORD_PREFIX, deleted_keys
from tests.unit.linkage.factories import assistance, left, person, record, resident
from tests.unit.linkage.test_privacy_deletion import _records, _service, _stored_text

pytestmark = pytest.mark.unit
TODAY = date(2025, 10, 1)
GONE, GONE_HEAD, RECENT, STAY, SIB, GROWN = "7401", "7402", "7403", "7404", "7405", "7406"
MCH = "maternal_child_health"


def _city(service: LinkageService) -> None:
    _records(service, [
        # left in 2019 with the whole household: nobody here needs it any more
        resident(GONE_HEAD, "H1", birth="1985-01-01", reason="initial_load", effective="2015-04-01"),
        resident(GONE, "H1", birth="2012-04-05", name_kana="サラバ ソラ", name_kanji="去 空", effective="2015-04-01"),
        assistance("started", "C74", "H1", GONE_HEAD, "2016-01-01"),
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no=GONE)], day="2013-10-01",
               checkup="1y6m"),
        left(GONE, "H1", "2019-03-31"), left(GONE_HEAD, "H1", "2019-03-31"),
        # left in 2024: too recent
        resident(RECENT, "H2", birth="2013-05-05", name_kana="チカイ ウミ", name_kanji="近 海", effective="2015-04-01"),
        left(RECENT, "H2", "2024-03-31"),
        # left in 2019, but a sibling still lives in the household
        resident(STAY, "H3", birth="2011-06-06", name_kana="ノコル リク", name_kanji="残 陸", effective="2015-04-01"),
        resident(SIB, "H3", birth="2014-07-07", name_kana="ノコル ハナ", name_kanji="残 花", effective="2015-04-01"),
        left(STAY, "H3", "2019-03-31"),
        # a resident who turned 18 in 2018, alone in its household
        resident(GROWN, "H5", birth="2000-01-01", name_kana="オトナ ケン", name_kanji="大人 健",
                 effective="2015-04-01"),
    ])


def test_a_child_who_left_long_ago_goes_and_the_others_stay(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    gone_id, grown_id = person_id_for(atena_key(GONE)), person_id_for(atena_key(GROWN))
    assert left_on(service.state, service.state.persons[gone_id]) == date(2019, 3, 31)
    assert adult_on(service.state.persons[grown_id]) == date(2018, 1, 1)
    assert expired_persons(service.state, 5, TODAY) == sorted([gone_id, grown_id])
    assert expired_persons(service.state, 8, TODAY) == [] and expired_persons(service.state, 0, TODAY) == []
    assert service.purge_expired({}, TODAY, person_years=0) == []  # kept by default

    entries = service.purge_expired({}, TODAY, person_years=5)
    assert service.store is not None
    service.store.acknowledge([seq for seq, _ in entries])  # as the worker does once the broker has them
    sent = [m for _, m in entries]
    tombstones = [key for topic, key, value, _ in sent if topic == "linkage.children.v1" and value is None]
    assert sorted(tombstones) == sorted([gone_id.encode(), grown_id.encode()])
    retractions = [json.loads(v)["data"] for topic, _, v, _ in sent if topic == "linkage.facts.v1" and v]
    assert retractions and {r["child_id"] for r in retractions} == {gone_id, grown_id}
    assert all(r["status"] == "retracted" and r["record_id"].startswith(DELETION_RECORD_PREFIX) for r in retractions)
    assert gone_id not in service.state.persons and grown_id not in service.state.persons
    for atena in (RECENT, STAY, SIB):
        assert service.state.person_for_key(atena_key(atena)) is not None
    stored = _stored_text(service)
    assert "去 空" not in stored and "サラバ ソラ" not in stored and gone_id not in stored
    assert "近 海" in stored and "残 陸" in stored
    assert deleted_keys(service.state, [atena_key(GONE)]) == set()  # no deny-list: a return is a new start
    assert service.metrics.retention_purged.labels("person")._value.get() == 2

    _records(service, [resident(GONE, "H9", birth="2012-04-05", name_kana="サラバ ソラ", name_kanji="去 空",
                                reason="move_in", effective="2025-09-01")])
    back = service.state.person_for_key(atena_key(GONE))
    assert back is not None and back.status == "resident"


def test_a_mother_is_kept(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _records(service, [
        resident("7411", "H4", birth="2008-01-01", name_kana="ワカイ ハハ", name_kanji="若 母", effective="2015-04-01"),
        record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no="7411"), person("child", atena_no="7412")],
               day="2018-05-01", birth_date="2018-05-01"),
        left("7411", "H4", "2019-03-31"),
    ])
    mother = service.state.person_for_key(atena_key("7411"))
    assert mother is not None and mother.is_child and atena_key("7411") in service.state.births
    assert expired_persons(service.state, 5, TODAY) == []
