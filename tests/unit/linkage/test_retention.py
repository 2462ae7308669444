"""Retention in linkage (docs/privacy.md "Retention in casework and linkage"): source facts past their kind's period
leave the state and the SQLite store; running episodes, kinds without a period, births and the persons (what links
later records) stay; nothing is published; counts only in metrics and the log (issue 15)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from pydantic import ValidationError

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.adapters.clock import FixedClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.config import LinkageSettings
from services.linkage.domain.identity import atena_key
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.retention import expired, years_before
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from tests.unit.linkage.factories import assistance, person, record, resident

pytestmark = pytest.mark.unit
MCH = "maternal_child_health"
CHILD, HEAD, HOUSEHOLD = "7301", "7302", "H73"
TODAY = date(2025, 10, 1)
PERIODS = {"public_assistance": 5, "infant_checkup": 5}


def _service(tmp_path: Path) -> LinkageService:
    store = SqliteStore(f"sqlite:///{tmp_path / 'linkage.db'}")
    return LinkageService(LinkageState(), store, LinkageMetrics(CollectorRegistry()), MatchSettings(), "/test",
                          clock=FixedClock(datetime(2025, 10, 1, 10, tzinfo=UTC)))


def _records(service: LinkageService, records: list[RecordV1]) -> None:
    batch = [Incoming(json.dumps(envelope_dict(data=r, type_=EVENT_TYPE, source="/t", subject=None,
                                               event_id=r.record_id)).encode(), None, "ingest.records.v1", 0, i)
             for i, r in enumerate(records)]
    entries = service.handle_records(batch)
    assert service.store is not None
    service.store.acknowledge([seq for seq, _ in entries])


def _family(service: LinkageService) -> None:
    _records(service, [
        resident(HEAD, HOUSEHOLD, birth="1980-01-01", reason="initial_load", name_kana="ホゾン ハナコ",
                 name_kanji="保存 花子"),
        resident(CHILD, HOUSEHOLD, birth="2012-04-05", name_kana="ホゾン ソラ", name_kanji="保存 空"),
        assistance("started", "OLD", HOUSEHOLD, HEAD, "2013-01-01"),
        assistance("ended", "OLD", HOUSEHOLD, HEAD, "2015-03-31"),  # ended 10 years ago
        assistance("started", "RUN", HOUSEHOLD, HEAD, "2016-01-01"),  # still running
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no=CHILD)], day="2013-08-01",
               checkup="1y6m"),
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no=CHILD)], day="2024-08-01",
               checkup="3y"),
    ])


def _kinds(state: LinkageState) -> list[tuple[str, str]]:
    return sorted((sf.kind, sf.key.split("|", 1)[1]) for sf in state.source_facts.values())


def test_facts_past_their_period_leave_state_and_store_and_nothing_else_does(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    service = _service(tmp_path)
    _family(service)
    before = _kinds(service.state)
    assert ("public_assistance", "OLD") in before and ("public_assistance", "RUN") in before
    child = service.state.person_for_key(atena_key(CHILD))
    assert child is not None

    with caplog.at_level(logging.INFO, logger="tsunagu.linkage"):
        sent = service.purge_expired(PERIODS, TODAY)

    assert sent == []  # nothing is published: scoring keeps what its own windows allow
    after = _kinds(service.state)
    assert set(before) - set(after) == {("public_assistance", "OLD"), ("infant_checkup", f"{atena_key(CHILD)}|1y6m")}
    assert service.store is not None
    reloaded = service.store.loaded()
    assert _kinds(reloaded) == after  # the rows are gone from SQLite too
    # the persons and their keys stay: a later record about the child links to the same person
    assert reloaded.person_for_key(atena_key(CHILD)).person_id == child.person_id  # type: ignore[union-attr]
    assert reloaded.person_for_key(atena_key(HEAD)) is not None
    assert not any(key.startswith("public_assistance|OLD") for keys in service.state.deps.snapshot().values()
                   for key in keys)
    metrics = service.metrics
    assert metrics.retention_purged.labels("public_assistance")._value.get() == 1
    assert metrics.retention_purged.labels("infant_checkup")._value.get() == 1
    assert metrics.retention_runs.labels("ok")._value.get() == 1
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "retention purge: 2 source facts removed infant_checkup=1 public_assistance=1" in logged
    assert CHILD not in logged and HEAD not in logged and "保存" not in logged and child.person_id not in logged

    assert service.purge_expired(PERIODS, TODAY) == [] and _kinds(service.state) == after  # a second run: nothing


def test_without_a_period_nothing_goes_and_the_period_is_counted_from_the_end(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _family(service)
    assert expired(service.state, {}, TODAY) == []
    assert expired(service.state, {"allowance": 1}, TODAY) == []  # a kind the household does not have
    # the OLD case ended 2015-03-31: inside an 11-year period, outside a 10-year one
    assert not [k for k in expired(service.state, {"public_assistance": 11}, TODAY) if "OLD" in k]
    assert [k for k in expired(service.state, {"public_assistance": 10}, TODAY) if "OLD" in k]
    assert not [k for k in expired(service.state, {"public_assistance": 1}, TODAY) if "RUN" in k]  # running


def test_births_and_pregnancies_and_unknown_kinds_are_refused_in_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in ('{"birth": 5}', '{"pregnancy_notified": 5}', '{"no_such_kind": 5}', '{"infant_checkup": 0}'):
        monkeypatch.setenv("TSUNAGU_LINKAGE_FACT_RETENTION_YEARS", bad)
        with pytest.raises(ValidationError):
            LinkageSettings()
    monkeypatch.setenv("TSUNAGU_LINKAGE_FACT_RETENTION_YEARS", '{"infant_checkup": 10}')
    assert LinkageSettings().fact_retention_years == {"infant_checkup": 10}
    monkeypatch.delenv("TSUNAGU_LINKAGE_FACT_RETENTION_YEARS")
    assert LinkageSettings().fact_retention_years == {}


def test_years_before_a_leap_day() -> None:
    assert years_before(date(2028, 2, 29), 5) == date(2023, 2, 28)
    assert years_before(date(2025, 10, 1), 5) == date(2020, 10, 1)


def _attached(tmp_path: Path) -> LinkageService:
    """As the worker runs: the state attached to its store (source facts read from SQLite on demand)."""
    service = _service(tmp_path)
    assert isinstance(service.store, SqliteStore)
    service.store.load(service.state)
    return service


def _more_cases(service: LinkageService, n: int) -> None:
    """``n`` more cases of the household: the odd ones ended 10 years ago (due), the even ones running."""
    records = []
    for i in range(n):
        records.append(assistance("started", f"C{i:02d}", HOUSEHOLD, HEAD, "2013-01-01"))
        if i % 2:
            records.append(assistance("ended", f"C{i:02d}", HOUSEHOLD, HEAD, "2015-03-31"))
    _records(service, records)


def test_the_purge_reads_the_facts_in_bounded_steps_and_still_removes_everything_due(tmp_path: Path) -> None:
    service = _attached(tmp_path)
    _family(service)
    _more_cases(service, 9)
    store = service.store
    assert isinstance(store, SqliteStore)
    due = expired(service.state, PERIODS, TODAY)  # the whole state at once, as the purge did before
    assert len(due) == 2 + 4
    everything = {key for key, _ in _kinds_by_key(service.state)}
    read: list[int] = []
    rows_after = store.rows_after

    def counted(table: str, after: str, limit: int) -> list[tuple[str, object]]:
        rows = rows_after(table, after, limit)
        read.append(len(rows))
        return rows

    store.rows_after = counted  # type: ignore[method-assign]
    steps = service.purge_steps(PERIODS, TODAY, slice_size=3)
    assert [entries for entries in steps] == [[]] * (len(everything) // 3 + 1 + 1)  # the facts' steps, then the rest

    assert read and max(read) <= 3 and sum(read) == len(everything)  # each step read at most its slice, all read once
    left = {key for key, _ in _kinds_by_key(service.state)}
    assert left == everything - set(due)
    assert {key for key, _ in _kinds_by_key(store.loaded())} == left  # and SQLite holds the same
    assert service.metrics.retention_purged.labels("public_assistance")._value.get() == 5
    assert service.metrics.retention_runs.labels("ok")._value.get() == 1


def test_records_handled_between_purge_steps_are_kept_and_what_was_due_still_goes(tmp_path: Path) -> None:
    service = _attached(tmp_path)
    _family(service)
    _more_cases(service, 9)
    due = set(expired(service.state, PERIODS, TODAY))
    steps = service.purge_steps(PERIODS, TODAY, slice_size=2)
    next(steps)
    _records(service, [assistance("started", "NEW", HOUSEHOLD, HEAD, "2025-09-01"),  # between two steps
                       assistance("ended", "C00", HOUSEHOLD, HEAD, "2025-09-30")])  # a running case ends: recent
    list(steps)
    left = {key for key, _ in _kinds_by_key(service.state)}
    assert not left & due
    assert {"public_assistance|NEW", "public_assistance|C00", "public_assistance|RUN"} <= left


def _kinds_by_key(state: LinkageState) -> list[tuple[str, str]]:
    return sorted((sf.key, sf.kind) for sf in state.source_facts.values())
