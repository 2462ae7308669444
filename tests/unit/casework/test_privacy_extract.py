"""Masked analysis extracts: keyed pseudonyms, no identifiers, k-anonymity, the register, refusals (issue 15).

Runs the real service on an in-memory SQLite database filled through the worker's real intake path.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from services.casework.adapters.orm import AuditRecord, Child, PrivacyExtract, PrivacyExtractSubject, PrivacyKey
from services.casework.bootstrap import Container
from services.casework.domain.k_anonymity import QUASI_IDENTIFIERS, Subject, anonymise, is_k_anonymous
from services.casework.domain.pseudonym import age_label, month_of, new_key, pseudonym
from services.casework.service_layer import privacy_extract
from services.casework.service_layer.privacy_files import DICTIONARY
from services.casework.service_layer.privacy_requests import Refused
from tests.unit.casework.privacy_data import NOW, WARDS, add_users, memory_container, populate, produce, read_csv

pytestmark = pytest.mark.unit


@pytest.fixture
def c() -> Iterator[Container]:
    container = memory_container()
    add_users(container)
    yield container
    container.engine.dispose()


def test_pseudonyms_are_keyed_stable_and_unlinkable() -> None:
    k1, k2 = new_key(), new_key()
    assert pseudonym(k1, "child", "c-1") == pseudonym(k1, "child", "c-1")
    assert pseudonym(k1, "child", "c-1") != pseudonym(k1, "child", "c-2")
    assert pseudonym(k1, "child", "c-1") != pseudonym(k2, "child", "c-1")
    assert pseudonym(k1, "child", "c-1") != pseudonym(k1, "alert", "c-1")
    assert month_of("2026-05-14") == "2026-05" and month_of(datetime(2026, 4, 30, 16, tzinfo=UTC)) == "2026-05"
    assert age_label(20, 0) == "18-23か月" and age_label(20, 1) == "1歳" and age_label(100, 2) == "6-11歳"


def test_k_anonymity_generalises_then_suppresses() -> None:
    rng = random.Random(3)
    subjects = [Subject(rng.choice(WARDS), rng.randint(0, 190), rng.choice("男女"), rng.choice(["a", "b"]))
                for _ in range(300)]
    subjects.append(Subject("40137", 5, "男", "rare"))  # alone in every generalisation: suppressed
    result = anonymise(subjects, k=5)
    assert len(subjects) - 1 in result.suppressed
    kept = [(s.ward_code, result.age_labels[i], s.sex, s.household_type) for i, s in enumerate(subjects)
            if i not in result.suppressed]
    assert is_k_anonymous(kept, 5) and result.level > 0
    report = result.report(len(subjects))
    assert report["subjects_suppressed"] == len(result.suppressed) and report["smallest_class"] >= 5


def test_extract_has_no_identifiers_and_is_k_anonymous(c: Container, tmp_path: Path) -> None:
    people = populate(c)
    result = produce(c, tmp_path)
    files = {p.name for p in result.out_dir.iterdir()}
    assert {f"{t}.{ext}" for t in DICTIONARY for ext in ("csv", "parquet")} <= files
    assert {"data_dictionary.csv", "k_anonymity.json", "manifest.json"} <= files
    with c.sessions() as session:
        alert_ids = set(session.scalars(select(AuditRecord.target)))  # user ids, extract ids …
        users = {u for (u,) in session.execute(select(AuditRecord.user_id))}
    forbidden = set()
    for p in people:
        i = int(p["id"].rsplit("-", 1)[1])
        forbidden |= {p["id"], p["name"], p["birth"], "フクオカ ハナコ", f"福岡市東区箱崎{i}-1-1", f"hh-pc-{i // 2}"}
    forbidden |= {a for a in alert_ids if a} | users
    for table, columns in DICTIONARY.items():
        rows = read_csv(result.out_dir / f"{table}.csv")
        parquet = pq.read_table(result.out_dir / f"{table}.parquet").to_pylist()
        assert len(rows) == len(parquet) == result.row_counts[table]
        assert list(rows[0]) == list(columns) if rows else True
        for row in rows + parquet:
            for value in row.values():
                text = str(value)
                assert text not in forbidden and not any(f in text for f in forbidden if len(f) > 6), (table, text)
    children = read_csv(result.out_dir / "children.csv")
    assert is_k_anonymous([tuple(r[q] for q in QUASI_IDENTIFIERS) for r in children], 5)
    assert len(children) + result.k_report["subjects_suppressed"] == len(people)
    released = {r["child_pseudonym"] for r in children}
    for table in ("items", "alerts"):
        assert {r["child_pseudonym"] for r in read_csv(result.out_dir / f"{table}.csv")} <= released
    assert all(len(r["month"]) == 7 for r in read_csv(result.out_dir / "items.csv"))


def test_same_child_same_pseudonym_within_and_different_across_extracts(c: Container, tmp_path: Path) -> None:
    populate(c, n=60)
    one, two = produce(c, tmp_path / "a"), produce(c, tmp_path / "b")
    first = {r["child_pseudonym"] for r in read_csv(one.out_dir / "children.csv")}
    second = {r["child_pseudonym"] for r in read_csv(two.out_dir / "children.csv")}
    assert first and second and not first & second
    alerts = read_csv(one.out_dir / "alerts.csv")
    assert alerts and {a["child_pseudonym"] for a in alerts} <= first
    with c.sessions() as session:
        extract = session.get(PrivacyExtract, one.extract_id)
        assert extract is not None and extract.row_counts == one.row_counts and extract.purpose.startswith("令和7年度")
        subjects = set(session.scalars(select(PrivacyExtractSubject.pseudonym).where(
            PrivacyExtractSubject.extract_id == one.extract_id)))
        assert subjects == first
        key = session.get(PrivacyKey, one.key_id)
        assert key is not None and key.key_hex
        child = session.scalars(select(Child)).first()
        assert child is not None
        assert pseudonym(bytes.fromhex(key.key_hex), "child", child.child_id) in first | {""}
        actions = list(session.scalars(select(AuditRecord.action).where(AuditRecord.outcome == "ok")))
        assert actions.count("masked_extract") == 2


@pytest.mark.parametrize(("overrides", "code"), [
    ({"purpose": None}, "no_purpose"), ({"purpose": "   "}, "no_purpose"),
    ({"period_from": "2026-05-01", "period_to": "2026-04-30"}, "empty_period"),
    ({"period_from": "2026-13-01"}, "bad_date"), ({"username": "higashi"}, "no_permission"),
    ({"username": "analyst"}, "no_permission"), ({"username": "nobody"}, "unknown_user"),
])
def test_bad_requests_are_refused_and_change_nothing(c: Container, tmp_path: Path, overrides: dict[str, Any],
                                                     code: str) -> None:
    populate(c, n=20)
    with c.sessions() as session:
        before = [(ch.child_id, ch.tier, ch.current_items) for ch in session.scalars(select(Child))]
    with pytest.raises(Refused) as refused:
        produce(c, tmp_path / "out", **overrides)
    assert refused.value.code == code
    assert not (tmp_path / "out").exists()
    with c.sessions() as session:
        assert session.scalar(select(func.count()).select_from(PrivacyExtract)) == 0
        assert session.scalar(select(func.count()).select_from(PrivacyKey)) == 0
        assert [(ch.child_id, ch.tier, ch.current_items) for ch in session.scalars(select(Child))] == before
        [denied] = session.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied"))
        assert (denied.action, denied.detail) == ("masked_extract", code)


def test_destroying_the_key_is_audited_and_final(c: Container, tmp_path: Path) -> None:
    populate(c, n=10)
    result = produce(c, tmp_path)
    privacy_extract.destroy_key(c, username="privacy", extract_id=result.extract_id, partner_deleted=True)
    with c.sessions() as session:
        key = session.get(PrivacyKey, result.key_id)
        assert key is not None and key.key_hex is None and key.destroyed_at == NOW
        assert privacy_extract.register(session)[0]["key_destroyed"] is True
    with pytest.raises(Refused, match="既に廃棄"):
        privacy_extract.destroy_key(c, username="privacy", extract_id=result.extract_id)
    with pytest.raises(Refused):
        privacy_extract.destroy_key(c, username="higashi", extract_id=result.extract_id)
