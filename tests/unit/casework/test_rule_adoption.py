"""判定ルールの版の採用 (issue 16): every refusal changes nothing and is audited as denied; the act is recorded."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, User
from services.casework.adapters.rule_files import AdoptionRecordFile, adoption_record_path
from services.casework.bootstrap import Container
from services.casework.domain.rule_adoption import changes, not_new
from services.casework.service_layer import audit_log, rule_adoption
from services.casework.service_layer.ports import RuleFileInvalid
from services.casework.service_layer.privacy_requests import Refused
from tests.unit.casework.privacy_data import NOW, add_users, memory_container

pytestmark = pytest.mark.unit

RULES = Path("/rules/fukuoka.toml")


def summary(rules: str = "r-1", weights: str = "w-1", *, item12: int = 30, item4: bool = False,
            weight3: float = 2.0, tiers: list[list[Any]] | None = None) -> dict[str, Any]:
    return {
        "municipality": "福岡市", "versions": f"{rules}|{weights}", "rules_version": rules, "weights_version": weights,
        "horizons_version": None, "age_limit_years": 18,
        "items": {"3": {"label": "乳幼児健診未受診", "enabled": True, "version": "1.0", "params": {}, "lookback": None},
                  "4": {"label": "健診問診「感情的に叩いた」", "enabled": item4, "version": "1.0", "params": {},
                        "lookback": None},
                  "12": {"label": "欠席が多い", "enabled": True, "version": "1.0", "params": {"threshold": item12},
                         "lookback": None}},
        "weights": {"3": weight3, "4": 3.0, "12": 2.0}, "default_weight": 1.0,
        "tiers": tiers or [["重点", 4.0], ["予防", 2.0], ["見守り", 1.0]], "horizons": {},
    }


@dataclass(frozen=True)
class Described:
    sha256: str
    summary: dict[str, Any]


class FakeChecker:
    """Scoring's loader as the act sees it: the file's summary, or its refusal."""

    def __init__(self, proposed: dict[str, Any], sha: str = "b" * 64, error: str | None = None) -> None:
        self.proposed, self.sha, self.error = proposed, sha, error

    def describe(self, path: Path) -> Described:
        if self.error:
            raise RuleFileInvalid(self.error)
        return Described(self.sha, copy.deepcopy(self.proposed))


class FakeRecords:
    def __init__(self, record: dict[str, Any] | None = None, unreadable: bool = False) -> None:
        self.record, self.unreadable, self.writes = record, unreadable, 0

    def read(self, rule_file: Path) -> dict[str, Any] | None:
        if self.unreadable:
            raise ValueError("not an adoption record")
        return copy.deepcopy(self.record)

    def write(self, rule_file: Path, record: dict[str, Any]) -> None:
        self.record, self.writes = copy.deepcopy(record), self.writes + 1


def adopted_record(s: dict[str, Any], sha: str = "a" * 64) -> dict[str, Any]:
    return {"rule_file": "fukuoka.toml", "sha256": sha, "versions": s["versions"], "summary": s, "history": [],
            "audit_seq": 1}


@pytest.fixture
def c() -> Iterator[Container]:
    container = memory_container()
    add_users(container)
    yield container
    container.engine.dispose()


def adopt(c: Container, checker: FakeChecker, records: FakeRecords, user: str = "hq",
          reason: str | None = "検討会 2026-06-10 の決定") -> rule_adoption.Adopted:
    return rule_adoption.adopt(c.sessions, checker, records, RULES, username=user, reason=reason, now=NOW)


def audit(c: Container) -> list[AuditRecord]:
    with c.sessions() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == "rules_adopt")
                                    .order_by(AuditRecord.seq)))


def refused(c: Container, records: FakeRecords, code: str, **kwargs: Any) -> str:
    before = copy.deepcopy(records.record)
    with pytest.raises(Refused) as exc:
        adopt(c, records=records, **kwargs)
    assert exc.value.code == code
    assert records.writes == 0 and records.record == before, "a refusal changes nothing"
    entry = audit(c)[-1]
    assert (entry.outcome, entry.detail, entry.target) == ("denied", code, "fukuoka.toml")
    return str(exc.value)


def test_first_adoption_is_recorded_in_the_audit_trail_and_beside_the_file(c: Container) -> None:
    records = FakeRecords()
    done = adopt(c, FakeChecker(summary(), sha="c" * 64), records)
    entry = audit(c)[-1]
    with c.sessions() as session:
        hq = session.scalars(select(User).where(User.username == "hq")).one()
    assert (entry.outcome, entry.user_id, entry.role, entry.target) == ("ok", hq.user_id, "hq_admin", "fukuoka.toml")
    assert entry.detail.startswith("- -> r-1|w-1; sha256=" + "c" * 64) and "検討会 2026-06-10 の決定" in entry.detail
    assert entry.at == NOW.isoformat() and done.audit_seq == entry.seq
    record = records.record
    assert record is not None and records.writes == 1
    assert (record["sha256"], record["versions"], record["adopted_by"], record["audit_seq"]) == (
        "c" * 64, "r-1|w-1", hq.user_id, entry.seq)
    assert record["reason"] == "検討会 2026-06-10 の決定" and record["adopted_at"] == NOW.isoformat()
    assert record["history"] == [] and record["summary"] == summary()
    with c.sessions() as session:
        assert audit_log.verify(session).ok


def test_a_new_version_lists_its_changes_and_keeps_the_history(c: Container) -> None:
    records = FakeRecords(adopted_record(summary()))
    proposed = summary("r-2", "w-2", item12=20, item4=True, weight3=3.0,
                       tiers=[["重点", 5.0], ["予防", 2.0], ["見守り", 1.0]])
    done = adopt(c, FakeChecker(proposed), records)
    lines = [ch.line() for ch in done.proposal.changes]
    assert lines == ["有効にする 4 健診問診「感情的に叩いた」: disabled → enabled",
                     "条件（パラメータ） 12 欠席が多い.threshold: 30 → 20",
                     "重み 3: 2.0 → 3.0",
                     "階層の境目 : 重点 ≥ 4.0, 予防 ≥ 2.0, 見守り ≥ 1.0 → 重点 ≥ 5.0, 予防 ≥ 2.0, 見守り ≥ 1.0"]
    assert records.record is not None and records.record["changes"] == lines
    assert [h["versions"] for h in records.record["history"]] == ["r-1|w-1"]
    assert "summary" not in records.record["history"][0]
    assert audit(c)[-1].detail.startswith("r-1|w-1 -> r-2|w-2;")


def test_a_ward_user_may_not_adopt(c: Container) -> None:
    message = refused(c, FakeRecords(), "no_permission", checker=FakeChecker(summary()), user="higashi")
    assert "権限" in message and "may not" in message


def test_an_unknown_user_may_not_adopt(c: Container) -> None:
    refused(c, FakeRecords(), "unknown_user", checker=FakeChecker(summary()), user="nobody")


def test_a_reason_is_required(c: Container) -> None:
    for reason in (None, "", "   ", "ok"):
        message = refused(c, FakeRecords(), "no_reason", checker=FakeChecker(summary()), reason=reason)
        assert "採用の理由" in message


def test_a_file_scoring_refuses_is_refused_with_its_reason(c: Container) -> None:
    checker = FakeChecker(summary(), error="fukuoka.toml: items.12.params: threshold: Input should be greater than 0")
    message = refused(c, FakeRecords(adopted_record(summary())), "invalid_rule_file", checker=checker)
    assert "ルールファイルに誤りがあります" in message and "items.12.params: threshold" in message


def test_the_adopted_versions_again_are_refused(c: Container) -> None:
    message = refused(c, FakeRecords(adopted_record(summary())), "version_not_new", checker=FakeChecker(summary()))
    assert "採用済み" in message and "raise the version" in message


def test_versions_adopted_earlier_are_refused(c: Container) -> None:
    record = adopted_record(summary("r-2", "w-2"))
    record["history"] = [{"versions": "r-1|w-1"}]
    refused(c, FakeRecords(record), "version_not_new", checker=FakeChecker(summary("r-1", "w-1", item12=10)))


def test_changed_items_need_a_new_rules_version(c: Container) -> None:
    proposed = summary("r-1", "w-2", item12=20)  # only the weights version was raised
    message = refused(c, FakeRecords(adopted_record(summary())), "version_not_new", checker=FakeChecker(proposed))
    assert "rules_version" in message and "[weights]" not in message


def test_changed_weights_need_a_new_weights_version(c: Container) -> None:
    proposed = summary("r-2", "w-1", weight3=1.0)
    message = refused(c, FakeRecords(adopted_record(summary())), "version_not_new", checker=FakeChecker(proposed))
    assert "[weights] version" in message and "rules_version" not in message


def test_an_unreadable_adoption_record_is_refused(c: Container) -> None:
    records = FakeRecords(unreadable=True)
    refused(c, records, "record_unreadable", checker=FakeChecker(summary()))


class RacingRecords(FakeRecords):
    """Another HQ account's adoption commits between this one's checks and its audit entry."""

    def read(self, rule_file: Path) -> dict[str, Any] | None:
        seen = super().read(rule_file)
        if self.record is None:
            self.record = adopted_record(summary("r-9", "w-9"))
        return seen


def test_an_adoption_that_came_first_wins(c: Container) -> None:
    records = RacingRecords()
    with pytest.raises(Refused) as exc:
        adopt(c, FakeChecker(summary()), records)
    assert exc.value.code == "adopted_meanwhile" and records.writes == 0
    assert [(e.outcome, e.detail) for e in audit(c)] == [("denied", "adopted_meanwhile")]


def test_preview_writes_nothing_and_shows_the_changes() -> None:
    records = FakeRecords(adopted_record(summary()))
    proposal = rule_adoption.propose(FakeChecker(summary("r-2", item4=True)), records, RULES)
    assert records.writes == 0 and proposal.current_versions == "r-1|w-1"
    assert [ch.kind for ch in proposal.changes] == ["item_enabled"]


def test_against_no_adopted_version_every_enabled_item_is_new() -> None:
    found = changes(None, summary(item4=True))
    assert sorted(ch.what for ch in found if ch.kind == "item_enabled") == ["12 欠席が多い", "3 乳幼児健診未受診",
                                                                            "4 健診問診「感情的に叩いた」"]
    assert not_new(None, summary(), [], found) is None


def test_disabled_and_removed_items_are_listed() -> None:
    proposed = summary("r-2")
    proposed["items"]["3"]["enabled"] = False
    del proposed["items"]["12"]
    kinds = [(ch.kind, ch.what) for ch in changes(summary(), proposed)]
    assert ("item_disabled", "3 乳幼児健診未受診") in kinds and ("item_removed", "12 欠席が多い") in kinds


def test_the_record_file_round_trips_and_refuses_what_is_not_a_record(tmp_path: Path) -> None:
    rules = tmp_path / "fukuoka.toml"
    files = AdoptionRecordFile()
    assert files.read(rules) is None
    files.write(rules, {"sha256": "a" * 64, "versions": "r|w", "reason": "理由"})
    assert adoption_record_path(rules) == tmp_path / "fukuoka.adopted.json"
    assert files.read(rules) == {"sha256": "a" * 64, "versions": "r|w", "reason": "理由"}
    assert [p.name for p in tmp_path.iterdir()] == ["fukuoka.adopted.json"], "no temporary file left"
    adoption_record_path(rules).write_text(json.dumps(["not", "a", "record"]), encoding="utf-8")
    with pytest.raises(ValueError, match="not an adoption record"):
        files.read(rules)
