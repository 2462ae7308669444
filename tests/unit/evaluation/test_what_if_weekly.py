"""What-if by hand, the weekly figures by hand, and the fairness audit's groups."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.evaluation.adapters.report_files import what_if_html
from services.evaluation.adapters.weights_file import WeightsFileError, parse_weights, weights_toml
from services.evaluation.bootstrap import bootstrap
from services.evaluation.config import DEFAULT_RULE_FILE, EvaluationSettings
from services.evaluation.domain.fairness import AuditChild, audit
from services.evaluation.domain.model import APPROACH, ASSESS, CONFER, NO_TIER, SCREEN, Case, Step
from services.evaluation.domain.periods import week_of
from services.evaluation.domain.weekly import CITY, weekly
from services.evaluation.domain.weights import Weights
from services.evaluation.domain.what_if import CITY as WHAT_IF_CITY
from services.evaluation.domain.what_if import ChildItems, what_if
from services.evaluation.metrics import EvaluationMetrics

pytestmark = pytest.mark.unit
TIERS = (("重点", 4.0), ("予防", 2.0), ("見守り", 1.0))
CURRENT = Weights("now", {18: 1.0, 17: 2.0, 12: 2.0}, TIERS)
PROPOSED = Weights("next", {18: 2.0, 17: 2.0, 12: 2.0}, TIERS)


def test_what_if_counts_entries_and_exits_per_ward_and_names_the_items() -> None:
    children = [ChildItems("40131", frozenset({18})),  # 見守り (1) → 予防 (2)
                ChildItems("40131", frozenset({18, 17})),  # 予防 (3) → 重点 (4)
                ChildItems("40132", frozenset({12})),  # 予防 → 予防
                ChildItems("40132", frozenset({19}))]  # 見守り → 見守り (default weight 1)
    result = what_if(children, CURRENT, PROPOSED)
    east, city = result.wards["40131"], result.wards[WHAT_IF_CITY]
    assert east.moves == {("見守り", "予防"): 1, ("予防", "重点"): 1}
    assert (east.entering("予防"), east.leaving("予防"), east.entering("重点")) == (1, 1, 1)
    assert east.drivers == {18: 2}
    assert result.wards["40132"].changed == 0
    assert (city.children, city.changed, city.before["見守り"], city.after["見守り"]) == (4, 2, 2, 1)


def test_what_if_threshold_change_names_every_item_carried() -> None:
    stricter = Weights("strict", dict(CURRENT.per_item), (("重点", 4.0), ("予防", 3.0), ("見守り", 1.0)))
    result = what_if([ChildItems("40131", frozenset({17}))], CURRENT, stricter)
    assert result.wards["40131"].moves == {("予防", "見守り"): 1} and result.wards["40131"].drivers == {17: 1}


def test_what_if_counts_connection_signals_only_with_a_weight() -> None:
    """行政とのつながり weigh 0 unless [weights.signals] gives one: a proposal that weighs 未就園 1 lists a child
    carrying only that signal (見守り) and lifts one with item 18 into 予防; the signal is named as the driver."""
    children = [ChildItems("40131", frozenset(), frozenset({"unenrolled"})),
                ChildItems("40131", frozenset({18}), frozenset({"unenrolled", "moved_in"})),
                ChildItems("40132", frozenset({12}), frozenset({"moved_in"}))]
    assert what_if(children, CURRENT, CURRENT).wards[WHAT_IF_CITY].changed == 0
    weighed = Weights("next", dict(CURRENT.per_item), TIERS, per_signal={"unenrolled": 1.0})
    result = what_if(children, CURRENT, weighed)
    east = result.wards["40131"]
    assert east.moves == {(NO_TIER, "見守り"): 1, ("見守り", "予防"): 1}
    assert east.signal_drivers == {"unenrolled": 2} and not east.drivers
    assert result.wards["40132"].changed == 0  # moved_in still weighs nothing


def test_weekly_figures_against_the_previous_week() -> None:
    monday = datetime(2026, 11, 2, 9, tzinfo=UTC)
    cases = [
        Case("c1", "k1", "40131", monday - timedelta(days=5), "予防", frozenset({18}),
             [Step(SCREEN, "要アプローチ", monday - timedelta(days=4)),
              Step(CONFER, "決定", monday + timedelta(days=1)),
              Step(APPROACH, "面会できた", monday + timedelta(days=2)),
              Step(ASSESS, "支援が必要", monday + timedelta(days=3))]),
        Case("c2", "k2", "40131", monday + timedelta(days=1), "見守り", frozenset({19}),
             [Step(SCREEN, "非該当", monday + timedelta(days=4))]),
        Case("c3", "k3", "40132", monday + timedelta(days=2), "予防", frozenset({17}), []),
    ]
    rows = {r.ward: r for r in weekly(cases, week_of(date(2026, 11, 4)))}
    east = rows["40131"]
    assert (east.this_week.new_alerts, east.this_week.screenings, east.this_week.approaches) == (1, 1, 1)
    assert (east.this_week.assessments, east.this_week.needing_support) == (1, 1)
    assert east.this_week.outcomes == {"非該当": 1}
    assert east.this_week.backlog_by_state == {"プランニング": 1}  # c2 closed in the week
    assert east.this_week.backlog_by_age == {"7〜29日": 1}
    assert (east.last_week.new_alerts, east.last_week.screenings) == (1, 1)
    assert east.last_week.backlog_by_state == {"関係三課協議": 1}
    assert rows[CITY].this_week.new_alerts == 2 and rows[CITY].this_week.backlog_by_state["一次スクリーニング"] == 1


def test_audit_groups_by_ward_and_household_type() -> None:
    children = [AuditChild("40131", frozenset({18}), True, True, True),
                AuditChild("40131", frozenset({19, 3}), False, False, False),
                AuditChild("40132", frozenset({3}), True, True, False)]
    rows = {(r.dimension, r.group): r for r in audit(children, {"40131": 100, "40132": 50})}
    assert rows[("区", "40131")].flag_rate is not None and rows[("区", "40131")].flag_rate.k == 2
    assert rows[("全体", "全体")].flag_rate.n == 150  # type: ignore[union-attr]
    assert (rows[("世帯類型", "生活保護世帯")].alert_rate.k, rows[("世帯類型", "生活保護世帯")].need_rate.k) == (1, 1)
    assert rows[("世帯類型", "その他・不明")].flagged == 1
    assert rows[("世帯類型", "ひとり親世帯（児童扶養手当）")].alert_rate.rate == 0


def test_a_weights_table_with_signal_weights_is_read_checked_and_written_back() -> None:
    text = """[weights]
version = "w-signals"
tiers = [{ name = "重点", min_score = 4 }, { name = "予防", min_score = 2 }, { name = "見守り", min_score = 1 }]
[weights.items]
18 = 2.0
[weights.signals]
unenrolled = 1.0
no_contact = 0.5
"""
    weights = parse_weights(text)
    assert weights.per_signal == {"unenrolled": 1.0, "no_contact": 0.5} and weights.signal_weight("moved_in") == 0.0
    assert weights.score({18}, {"unenrolled", "moved_in"}) == 3.0
    back = parse_weights(weights_toml(weights, "round trip"))
    assert back.per_signal == weights.per_signal and all(back.weight(i) == weights.weight(i) for i in range(1, 20))
    with pytest.raises(WeightsFileError, match="signals must be among"):
        parse_weights(text.replace("no_contact", "not_a_signal"))
    with pytest.raises(WeightsFileError, match="negative"):
        parse_weights(text.replace("unenrolled = 1.0", "unenrolled = -1.0"))


def test_the_what_if_report_names_a_signal_among_the_drivers() -> None:
    weighed = Weights("next", dict(CURRENT.per_item), TIERS, per_signal={"unenrolled": 1.0})
    result = what_if([ChildItems("40131", frozenset({18}), frozenset({"unenrolled"}))], CURRENT, weighed)
    html = what_if_html(result, datetime(2026, 11, 30, 9, tzinfo=UTC))
    assert "つながり「未就園」（1人）" in html and "見守り → 予防" in html


def test_the_service_starts_on_a_rule_file_that_weighs_a_signal(tmp_path: Path) -> None:
    """Once the city gives 未就園 a weight in scoring's rule file, evaluation still starts and uses it."""
    rules = tmp_path / "fukuoka.toml"
    rules.write_text(DEFAULT_RULE_FILE.read_text(encoding="utf-8") + "\n[weights.signals]\nunenrolled = 1.0\n",
                     encoding="utf-8")
    settings = EvaluationSettings(database_url=f"sqlite:///{tmp_path}/evaluation.db", metrics_port=0,
                                  reports_dir=tmp_path / "reports", rule_file=rules)
    container = bootstrap(settings, metrics=EvaluationMetrics(CollectorRegistry()))
    try:
        assert container.current_weights.per_signal == {"unenrolled": 1.0}
    finally:
        container.engine.dispose()
