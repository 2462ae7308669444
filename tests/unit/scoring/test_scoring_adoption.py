"""Scoring never silently runs a rule file HQ has not adopted: refused in production, warned and counted
elsewhere (docs/scoring.md "Adopting a rule file"); ``rules_cli describe`` is the loader's answer for the act."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.scoring.adapters.adoption import RuleFileNotAdopted, adoption_record_path, check_adoption
from services.scoring.adapters.rulebook import RulebookError, load_rulebook
from services.scoring.bootstrap import bootstrap
from services.scoring.config import FUKUOKA_RULES, ScoringSettings
from services.scoring.entrypoints import rules_cli
from services.scoring.metrics import ScoringMetrics

pytestmark = pytest.mark.unit


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    path = tmp_path / "fukuoka.toml"
    shutil.copyfile(FUKUOKA_RULES, path)
    return path


def record(rules: Path, **overrides: object) -> None:
    versions = load_rulebook(rules).versions
    body = {"sha256": hashlib.sha256(rules.read_bytes()).hexdigest(), "versions": versions,
            "adopted_at": "2026-06-10T10:00:00+09:00", "audit_seq": 7, **overrides}
    adoption_record_path(rules).write_text(json.dumps(body), encoding="utf-8")


def metrics() -> ScoringMetrics:
    return ScoringMetrics(CollectorRegistry())


def counted(m: ScoringMetrics, outcome: str) -> float:
    return m.rule_file_checks.labels(outcome=outcome)._value.get()


def check(rules: Path, environment: str, m: ScoringMetrics) -> str:
    return check_adoption(rules, load_rulebook(rules), environment=environment, metrics=m).outcome


def test_the_adopted_file_starts_in_production(rules: Path) -> None:
    record(rules)
    m = metrics()
    assert check(rules, "production", m) == "adopted"
    assert counted(m, "adopted") == 1 and m.rule_file_adopted._value.get() == 1


def edited_after_adoption(rules: Path) -> None:
    record(rules)
    rules.write_text(rules.read_text(encoding="utf-8").replace("threshold = 30", "threshold = 20"), encoding="utf-8")


def unreadable_record(rules: Path) -> None:
    adoption_record_path(rules).write_text("{not json", encoding="utf-8")


def other_versions(rules: Path) -> None:
    record(rules, versions="fukuoka-2025.1|fukuoka-w-2025.1")


def never_adopted(rules: Path) -> None:
    pass


@pytest.mark.parametrize(("prepare", "outcome", "words"), [
    (never_adopted, "not_adopted", "採用されていません"),
    (edited_after_adoption, "changed", "採用後に"),
    (other_versions, "versions_differ", "版が一致しません"),
    (unreadable_record, "record_unreadable", "読めません"),
])
def test_production_refuses_a_file_that_is_not_the_adopted_one(rules: Path, prepare: Callable[[Path], None],
                                                                  outcome: str, words: str) -> None:
    prepare(rules)
    m = metrics()
    with pytest.raises(RuleFileNotAdopted, match=words) as exc:
        check(rules, "production", m)
    assert isinstance(exc.value, RulebookError), "the worker's 'refusing to start' path"
    assert "rules-adopt" in str(exc.value)
    assert counted(m, outcome) == 1 and m.rule_file_adopted._value.get() == 0


def test_development_runs_it_but_warns_loudly_and_counts(rules: Path, caplog: pytest.LogCaptureFixture) -> None:
    m = metrics()
    with caplog.at_level(logging.WARNING, logger="tsunagu.scoring.adoption"):
        assert check(rules, "development", m) == "not_adopted"
    assert "UNADOPTED RULE FILE" in caplog.text and "production refuses" in caplog.text
    assert counted(m, "not_adopted") == 1 and m.rule_file_adopted._value.get() == 0


def test_bootstrap_checks_the_rule_file(rules: Path) -> None:
    with pytest.raises(RuleFileNotAdopted):
        bootstrap(ScoringSettings(config_path=rules, environment="production"), metrics=metrics())
    record(rules)
    m = metrics()
    container = bootstrap(ScoringSettings(config_path=rules, environment="production"), metrics=m)
    assert container.metrics is m and counted(m, "adopted") == 1


def test_the_environment_comes_from_tsunagu_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    assert ScoringSettings().environment == "production"
    monkeypatch.setenv("TSUNAGU_SCORING_ENVIRONMENT", "development")
    assert ScoringSettings().environment == "development"


def test_describe_answers_with_the_summary_and_the_digest_of_the_bytes(rules: Path) -> None:
    code, out = rules_cli.describe(rules)
    assert code == 0 and out["ok"] is True
    assert out["sha256"] == hashlib.sha256(rules.read_bytes()).hexdigest()
    summary = out["summary"]
    assert isinstance(summary, dict) and summary["versions"] == load_rulebook(rules).versions
    assert summary["items"]["12"]["params"]["threshold"] == 30 and summary["items"]["4"]["enabled"] is False
    assert summary["tiers"][0] == ["重点", 4]


def test_describe_refuses_what_the_loader_refuses(rules: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules.write_text(rules.read_text(encoding="utf-8").replace("threshold = 30", "threshold = 0"), encoding="utf-8")
    assert rules_cli.main(["describe", str(rules)]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["ok"] is False and "items.12.params" in answer["error"] and "threshold" in answer["error"]
    assert rules_cli.describe(rules.with_name("missing.toml"))[0] == 1
