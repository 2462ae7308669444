"""Adopting a rule file over real PostgreSQL, with scoring's own loader run as a command and scoring's start-up
check reading what the act wrote (issue 16; docs/scoring.md "Adopting a rule file")."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, User
from services.casework.bootstrap import Container
from services.casework.entrypoints import cli
from services.casework.service_layer import audit_log
from services.scoring.adapters.adoption import RuleFileNotAdopted
from services.scoring.bootstrap import bootstrap as scoring_bootstrap
from services.scoring.config import FUKUOKA_RULES, ScoringSettings
from services.scoring.metrics import ScoringMetrics
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import add_user, client_for
from tests.unit.casework.privacy_data import add_users

pytestmark = pytest.mark.integration

REASON = "検討会 2026-06-10 の決定（欠席のしきい値）"


@pytest.fixture
def rules(pg_container: Container, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "rules" / "fukuoka.toml"
    path.parent.mkdir()
    shutil.copyfile(FUKUOKA_RULES, path)
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(pg_container.settings.database_url))
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "test")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", "t" * 32)
    monkeypatch.setenv("TSUNAGU_CASEWORK_RULE_FILE", str(path))
    add_users(pg_container)
    return path


def scoring_starts(rules: Path) -> bool:
    try:
        scoring_bootstrap(ScoringSettings(config_path=rules, environment="production"),
                          metrics=ScoringMetrics(CollectorRegistry()))
    except RuleFileNotAdopted:
        return False
    return True


def entries(c: Container) -> list[AuditRecord]:
    with c.sessions() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == "rules_adopt")
                                    .order_by(AuditRecord.seq)))


def record(rules: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(rules.with_name("fukuoka.adopted.json").read_text(encoding="utf-8"))
    return loaded


def edit(rules: Path, old: str, new: str) -> None:
    text = rules.read_text(encoding="utf-8")
    assert old in text
    rules.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_adopt_then_scoring_starts_and_an_edit_needs_a_new_adoption(
        pg_container: Container, rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert not scoring_starts(rules), "production refuses a rule file nobody adopted"
    # a ward account may not adopt: refused, audited, nothing written
    assert cli.main(["rules-adopt", "--user", "higashi", "--reason", REASON]) == 2
    assert "権限" in capsys.readouterr().err
    assert not rules.with_name("fukuoka.adopted.json").exists()
    assert [(e.outcome, e.detail) for e in entries(pg_container)] == [("denied", "no_permission")]

    assert cli.main(["rules-adopt", "--user", "hq", "--reason", REASON]) == 0
    out = capsys.readouterr().out
    assert "fukuoka-2025.2|fukuoka-w-2025.1" in out and "採用しました" in out
    first = record(rules)
    with pg_container.sessions() as session:
        hq = session.scalars(select(User).where(User.username == "hq")).one()
        assert audit_log.verify(session).ok
    entry = entries(pg_container)[-1]
    assert (entry.outcome, entry.user_id, entry.role, entry.target) == ("ok", hq.user_id, "hq_admin", "fukuoka.toml")
    assert f"sha256={first['sha256']}" in entry.detail and REASON in entry.detail
    assert (first["adopted_by"], first["audit_seq"], first["reason"]) == (hq.user_id, entry.seq, REASON)
    assert scoring_starts(rules)

    # the same versions again: refused
    assert cli.main(["rules-adopt", "--user", "hq", "--reason", REASON]) == 2
    assert "採用済み" in capsys.readouterr().err

    # edited after adoption: scoring refuses; preview shows the change; a parameter without a new rules_version is
    # refused; with it, adopted, and scoring starts again
    edit(rules, "threshold = 30", "threshold = 20")
    assert not scoring_starts(rules)
    assert cli.main(["rules-adopt", "--user", "hq", "--reason", REASON]) == 2
    assert "採用済み" in capsys.readouterr().err
    edit(rules, 'version = "fukuoka-w-2025.1"', 'version = "fukuoka-w-2026.1"')  # the weights' version only
    assert cli.main(["rules-adopt", "--user", "hq", "--reason", REASON]) == 2
    assert "rules_version を上げてください" in capsys.readouterr().err
    edit(rules, 'rules_version = "fukuoka-2025.2"', 'rules_version = "fukuoka-2026.1"')
    assert cli.main(["rules-preview"]) == 0
    assert "条件（パラメータ） 12 欠席が多い.threshold: 30 → 20" in capsys.readouterr().out
    assert rules.with_name("fukuoka.adopted.json").read_text(encoding="utf-8") == json.dumps(
        first, ensure_ascii=False, indent=2, sort_keys=True) + "\n", "preview writes nothing"
    assert cli.main(["rules-adopt", "--user", "hq", "--reason", "欠席のしきい値を 20 日に"]) == 0
    second = record(rules)
    assert second["versions"] == "fukuoka-2026.1|fukuoka-w-2026.1" and second["sha256"] != first["sha256"]
    assert [h["versions"] for h in second["history"]] == ["fukuoka-2025.2|fukuoka-w-2025.1"]  # type: ignore[attr-defined]
    assert scoring_starts(rules)

    # a file scoring's loader refuses is refused with its reason, and nothing is written
    edit(rules, "threshold = 20", "threshold = 0")
    edit(rules, 'rules_version = "fukuoka-2026.1"', 'rules_version = "fukuoka-2026.2"')
    assert cli.main(["rules-adopt", "--user", "hq", "--reason", REASON]) == 2
    err = capsys.readouterr().err
    assert "ルールファイルに誤りがあります" in err and "items.12.params" in err
    assert record(rules) == second
    assert [(e.outcome, e.detail.split(" ")[0]) for e in entries(pg_container)] == [
        ("denied", "no_permission"), ("ok", "-"), ("denied", "version_not_new"), ("denied", "version_not_new"),
        ("denied", "version_not_new"), ("ok", "fukuoka-2025.2|fukuoka-w-2025.1"), ("denied", "invalid_rule_file")]
    with pg_container.sessions() as session:
        assert audit_log.verify(session).ok


def test_the_hq_page_previews_and_adopts(tmp_path: Path, clock: FakeClock) -> None:
    """The same act from HQ's page (SQLite: the page touches nothing PostgreSQL-specific)."""
    path = tmp_path / "fukuoka.toml"
    shutil.copyfile(FUKUOKA_RULES, path)
    c = make_container(f"sqlite:///{tmp_path}/casework.db", clock, rule_file=path)
    try:
        add_user(c, "hq", "hq_admin")
        add_user(c, "higashi", "ward_staff", "40131")
        staff = client_for(c, "higashi")
        assert staff.get("/admin/rules").status_code == 403
        assert "判定ルール" not in staff.get("/").text
        hq = client_for(c, "hq")
        page = hq.get("/admin/rules").text
        assert "まだ採用された版はありません" in page and "fukuoka-2025.2|fukuoka-w-2025.1" in page
        assert "有効にする 3 乳幼児健診未受診" in page and "この版を採用する" in page
        token = csrf_of(page)
        refused_page = hq.post("/admin/rules", data={"reason": "", "csrf_token": token})
        assert "採用の理由を記入してください" in refused_page.text
        assert not path.with_name("fukuoka.adopted.json").exists()
        adopted = hq.post("/admin/rules", data={"reason": REASON, "csrf_token": token})
        assert "採用しました" in adopted.text and REASON in adopted.text and "この版を採用する" not in adopted.text
        assert scoring_starts(path)
        assert [(e.outcome, e.detail.split(";")[0]) for e in entries(c)] == [
            ("denied", "no_reason"), ("ok", "- -> fukuoka-2025.2|fukuoka-w-2025.1")]
    finally:
        c.engine.dispose()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries its CSRF token"
    return match.group(1)
