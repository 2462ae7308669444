"""Retention in evaluation (docs/privacy.md): a closed case whose last step is older than the period goes with its
steps; a recently closed case and an old open case stay; an opted-out child's old closed case goes too; the dry run
counts exactly what the purge removes; a replayed step of a purged case is not stored again; the log has counts
only. On the SQLite store through the worker's real intake, and the pure rule on the domain model."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from services.evaluation.adapters.orm import CaseRow, StepRow
from services.evaluation.bootstrap import Container
from services.evaluation.domain.model import Case, Step
from services.evaluation.domain.retention import closed_at, past_retention
from services.evaluation.entrypoints import cli
from services.evaluation.service_layer import retention
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation.factories import alert, outcome, raw
from tests.unit.evaluation.test_evaluation_opt_out import opt_out

pytestmark = pytest.mark.unit
NOW = datetime(2027, 4, 1, tzinfo=UTC)  # the container's clock
DAYS = 1826


def _case(container: Container, case_id: str, child_id: str, steps: list[tuple[str, str | None, str]]) -> None:
    process_batch(container, "alerts", [(raw(alert(case_id, child_id, raised_at="2020-04-01T00:00:00+00:00")),
                                         f"a-{case_id}")])
    for i, (step, result, at) in enumerate(steps):
        process_batch(container, "outcomes", [(_step(case_id, child_id, step, result, at, i), f"o-{case_id}-{i}")])


def _step(case_id: str, child_id: str, step: str, result: str | None, at: str, i: int) -> bytes:
    """A step with a stable event id (a replay is the same event)."""
    return raw({**outcome(case_id, child_id, step, result, at), "id": f"step-{case_id}-{i}"})


def _rows(container: Container) -> tuple[set[str], int]:
    with container.sessions() as s:
        return set(s.scalars(select(CaseRow.case_id))), int(s.scalar(select(func.count()).select_from(StepRow)) or 0)


def test_the_rule_counts_from_the_last_step_of_a_closed_case() -> None:
    listed = datetime(2020, 4, 1, tzinfo=UTC)
    closed = Case("c1", "k1", "40131", listed, "予防", frozenset({18}),
                  [Step("二次スクリーニング", "非該当", datetime(2020, 5, 1, tzinfo=UTC))])
    open_ = Case("c2", "k2", "40131", listed, "予防", frozenset({18}),
                 [Step("二次スクリーニング", "要アプローチ", datetime(2020, 5, 1, tzinfo=UTC))])
    unstepped = Case("c3", "k3", "40131", listed, "予防", frozenset({18}), [])
    assert closed_at(closed) == datetime(2020, 5, 1, tzinfo=UTC) and closed_at(open_) is None
    assert closed_at(unstepped) is None
    cutoff_day = datetime(2020, 5, 1, tzinfo=UTC) + timedelta(days=DAYS)
    assert past_retention([closed, open_, unstepped], cutoff_day, DAYS) == ["c1"]
    assert past_retention([closed], cutoff_day - timedelta(seconds=1), DAYS) == []


def test_old_closed_cases_go_with_their_steps_and_the_rest_stay(container: Container,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    _case(container, "old-closed", "k-1", [("二次スクリーニング", "要アプローチ", "2020-04-10T00:00:00+00:00"),
                                           ("関係三課協議", "決定", "2020-04-20T00:00:00+00:00"),
                                           ("終結", None, "2021-03-01T00:00:00+00:00")])
    _case(container, "old-open", "k-2", [("二次スクリーニング", "要アプローチ", "2020-04-10T00:00:00+00:00")])
    _case(container, "recent-closed", "k-3", [("二次スクリーニング", "非該当", "2023-01-10T00:00:00+00:00")])
    _case(container, "opted-out-closed", "k-4", [("二次スクリーニング", "非該当", "2020-06-01T00:00:00+00:00")])
    process_batch(container, "optouts", [(opt_out("k-4", True, "2026-09-10T01:00:00+00:00"), "p@0")])
    assert _rows(container) == ({"old-closed", "old-open", "recent-closed", "opted-out-closed"}, 6)

    dry = retention.purge(container.uow(), NOW, DAYS, dry_run=True)
    assert (dry.cases, dry.steps) == (2, 4) and _rows(container)[1] == 6  # counted, nothing removed
    with caplog.at_level(logging.INFO, logger="tsunagu.evaluation.retention"):
        done = retention.purge(container.uow(), NOW, DAYS, metrics=container.metrics)
    assert (done.cases, done.steps) == (dry.cases, dry.steps)
    assert _rows(container) == ({"old-open", "recent-closed"}, 2)
    assert container.metrics.retention_purged.labels(store="cases")._value.get() == 2
    text = caplog.text
    assert "2 closed case(s)" in text and "old-closed" not in text and "k-1" not in text

    # a replay of the purged case's step (a rebuild, a redelivery) is recognised: not stored again
    replay = _step("old-closed", "k-1", "終結", None, "2021-03-01T00:00:00+00:00", 2)
    assert process_batch(container, "outcomes", [(replay, "o-old-closed-2")]) == ["duplicate"]
    assert _rows(container) == ({"old-open", "recent-closed"}, 2)
    assert retention.purge(container.uow(), NOW, DAYS).cases == 0


def test_the_command_counts_then_purges(container: Container, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _case(container, "old-closed", "k-1", [("二次スクリーニング", "非該当", "2020-04-10T00:00:00+00:00")])
    monkeypatch.setenv("TSUNAGU_EVALUATION_DATABASE_URL", container.settings.database_url)
    assert cli.main(["retention-purge", "--dry-run"]) == 0
    assert "would remove 1 closed case(s), 1 step(s)" in capsys.readouterr().out and _rows(container)[1] == 1
    assert cli.main(["retention-purge"]) == 0
    assert "removed 1 closed case(s)" in capsys.readouterr().out and _rows(container) == (set(), 0)
