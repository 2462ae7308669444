"""The privacy commands over real PostgreSQL (migrated to 0004): extract, key destruction, opt-out, disclosure and
deletion through the CLI, refusals with exit code 2 and nothing changed (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.casework.adapters.orm import Alert, AuditRecord, Child, PrivacyExtract, PrivacyKey, PrivacyOptOut
from services.casework.bootstrap import Container
from services.casework.domain.k_anonymity import QUASI_IDENTIFIERS, is_k_anonymous
from services.casework.entrypoints import cli
from services.casework.service_layer import audit_log
from tests.unit.casework.privacy_data import add_users, populate, read_csv

pytestmark = pytest.mark.integration


@pytest.fixture
def env(pg_container: Container, monkeypatch: pytest.MonkeyPatch) -> Container:
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(pg_container.settings.database_url))
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "test")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", "t" * 32)
    add_users(pg_container)
    return pg_container


def count(c: Container, table: type) -> int:
    with c.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_extract_and_key_destruction_through_the_cli(env: Container, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    populate(env, n=150)
    assert cli.main(["extract", "--user", "hq", "--purpose", "効果検証（大学）", "--from", "2025-04-01",
                     "--to", "2026-12-31", "--out", str(tmp_path), "--recipient", "九州の大学"]) == 0
    [out_dir] = list(tmp_path.iterdir())
    children = read_csv(out_dir / "children.csv")
    assert children and is_k_anonymous([tuple(r[q] for q in QUASI_IDENTIFIERS) for r in children], 5)
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert manifest["row_counts"]["children"] == len(children) and "children.parquet" in manifest["files"]
    with env.sessions() as session:
        [extract] = session.scalars(select(PrivacyExtract))
        assert extract.recipient == "九州の大学" and extract.row_counts == manifest["row_counts"]
    assert cli.main(["destroy-key", "--user", "privacy", "--extract", extract.extract_id, "--partner-deleted"]) == 0
    with env.sessions() as session:
        key = session.get(PrivacyKey, extract.key_id)
        assert key is not None and key.key_hex is None
    capsys.readouterr()
    assert cli.main(["extracts"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["key_destroyed"] is True


@pytest.mark.parametrize("args", [
    ["--user", "hq", "--purpose", "", "--from", "2025-04-01", "--to", "2026-03-31"],
    ["--user", "hq", "--purpose", "効果検証", "--from", "2026-04-01", "--to", "2026-03-31"],
    ["--user", "higashi", "--purpose", "効果検証", "--from", "2025-04-01", "--to", "2026-03-31"],
])
def test_refused_extracts_exit_2_and_change_nothing(env: Container, tmp_path: Path, args: list[str]) -> None:
    populate(env, n=10)
    assert cli.main(["extract", *args, "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
    assert count(env, PrivacyExtract) == 0 and count(env, PrivacyKey) == 0
    with env.sessions() as session:
        assert [a.outcome for a in session.scalars(select(AuditRecord).where(
            AuditRecord.action == "masked_extract"))] == ["denied"]


def test_opt_out_disclosure_and_deletion_through_the_cli(env: Container, tmp_path: Path) -> None:
    populate(env, n=12)
    child = "pc-00003"
    assert cli.main(["opt-out", "--user", "privacy", "--child", child, "--requested-by", "保護者",
                     "--reason", "保護者からの利用停止の申出"]) == 0
    with env.sessions() as session:
        row = session.get(PrivacyOptOut, child)
        assert row is not None and row.active
    assert cli.main(["opt-out", "--user", "privacy", "--child", child, "--withdraw", "--reason", "撤回"]) == 0
    assert cli.main(["disclose", "--user", "privacy", "--child", child, "--ref", "R7-100",
                     "--out", str(tmp_path), "--no-pdf"]) == 0
    [html] = list(tmp_path.glob("*.html"))
    assert "試験 太郎3" in html.read_text(encoding="utf-8")
    assert cli.main(["disclose", "--user", "hq", "--child", child, "--ref", "R7-101", "--out", str(tmp_path)]) == 2
    assert cli.main(["delete-person", "--user", "privacy", "--child", child, "--requested-by", "保護者",
                     "--ref", "R7-102", "--yes"]) == 0
    assert cli.main(["delete-person", "--user", "privacy", "--child", child, "--requested-by", "保護者",
                     "--ref", "R7-103", "--yes"]) == 2
    with env.sessions() as session:
        assert session.get(Child, child) is None
        assert session.scalar(select(func.count()).select_from(Alert).where(Alert.child_id == child)) == 0
        assert session.get(PrivacyOptOut, child) is None
        assert audit_log.verify(session).ok
        outcomes = [(a.action, a.outcome) for a in session.scalars(
            select(AuditRecord).where(AuditRecord.child_id == child).order_by(AuditRecord.seq))]
    assert outcomes == [("opt_out", "ok"), ("opt_out_withdrawn", "ok"), ("disclosure_request", "ok"),
                        ("disclosure", "ok"), ("disclosure_request", "denied"), ("delete_person", "ok"),
                        ("delete_person", "denied")]


def test_register_page_for_hq_and_privacy_officers_only(env: Container, tmp_path: Path) -> None:
    from tests.integration.casework.web import add_user, client_for

    populate(env, n=30)
    assert cli.main(["extract", "--user", "hq", "--purpose", "効果検証＜script＞", "--from", "2025-04-01",
                     "--to", "2026-12-31", "--out", str(tmp_path)]) == 0
    add_user(env, "hq-web", "hq_admin")
    add_user(env, "priv-web", "privacy_officer")
    add_user(env, "ward-web", "ward_staff", "40131")
    page = client_for(env, "hq-web").get("/privacy/extracts")
    assert page.status_code == 200 and "効果検証＜script＞" in page.text and "保管中" in page.text
    [row] = client_for(env, "priv-web").get("/api/privacy/extracts").json()
    assert row["purpose"] == "効果検証＜script＞" and "key_hex" not in row
    assert client_for(env, "ward-web").get("/privacy/extracts").status_code == 403
    with env.sessions() as session:
        outcomes = [a.outcome for a in session.scalars(select(AuditRecord).where(
            AuditRecord.action == "view_extracts").order_by(AuditRecord.seq))]
    assert outcomes == ["ok", "ok", "denied"]
