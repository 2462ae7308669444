"""The item model on synthetic outcomes whose truth is known: item 18 triples the odds of needing support."""

from __future__ import annotations

import random

import pytest

from services.evaluation.adapters.synthetic import Truth, generate
from services.evaluation.domain.item_model import NotEnoughData, Outcome, as_weights, fit_item_model
from services.evaluation.domain.weights import Weights

pytestmark = pytest.mark.unit
CURRENT = Weights("w-test", {i: 1.0 for i in range(1, 20)} | {17: 2.0, 3: 2.0},
                  (("重点", 4.0), ("予防", 2.0), ("見守り", 1.0)))


def test_odds_ratio_interval_covers_the_truth() -> None:
    # Every child with an item is assessed here (no funnel losses): the need is drawn from Truth.
    truth = Truth(intercept=-1.5, odds_ratios={18: 3.0, 12: 1.0, 17: 1.0})
    rng = random.Random(11)
    outcomes = []
    for _ in range(8000):
        items = frozenset(i for i, p in {18: 0.3, 12: 0.25, 17: 0.2}.items() if rng.random() < p) or frozenset({19})
        outcomes.append(Outcome(items, CURRENT.tier(items) or "階層なし", rng.random() < truth.p_need(items)))
    model = fit_item_model(outcomes, CURRENT)
    by_item = {o.item: o for o in model.odds_ratios}
    assert model.converged
    assert by_item[18].low < 3.0 < by_item[18].high
    assert by_item[18].low > 2.0  # and it is clearly above 1
    assert by_item[12].low < 1.0 < by_item[12].high
    proposed = {p.item: p for p in model.proposed}
    assert proposed[18].proposed > proposed[12].proposed and proposed[18].basis == "モデル"
    assert proposed[5].proposed == proposed[5].current and proposed[5].basis == "据置"  # no data: kept


def test_synthetic_city_recovers_item_18_and_tiers_are_calibrated_in_order() -> None:
    rows = [r for r in generate(60_000, CURRENT, seed=3) if r.case is not None and r.case.assessed]
    outcomes = [Outcome(r.case.items, r.case.tier_label, r.case.needs_support) for r in rows if r.case]
    model = fit_item_model(outcomes, CURRENT)
    or18 = next(o for o in model.odds_ratios if o.item == 18)
    assert or18.low < 3.0 < or18.high
    assert [c.tier for c in model.calibration] == ["重点", "予防", "見守り"]
    for c in model.calibration:  # the model's mean prediction per tier lies within the observed interval
        assert c.observed.low is not None and c.observed.high is not None
        assert c.observed.low <= c.predicted_mean <= c.observed.high


def test_proposal_is_returned_never_applied() -> None:
    rng = random.Random(5)
    outcomes = [Outcome(frozenset({18}) if rng.random() < 0.5 else frozenset({19}), "見守り", rng.random() < 0.4)
                for _ in range(400)]
    before = dict(CURRENT.per_item)
    model = fit_item_model(outcomes, CURRENT)
    proposed = as_weights(CURRENT, model.proposed, model.proposed_thresholds, "w-test-proposed")
    assert CURRENT.per_item == before and proposed.version == "w-test-proposed"
    assert [name for name, _ in proposed.tiers] == ["重点", "予防", "見守り"]
    assert all(a > b for (_, a), (_, b) in zip(proposed.tiers, proposed.tiers[1:], strict=False))


def test_too_few_assessed_children_is_said_not_guessed() -> None:
    with pytest.raises(NotEnoughData):
        fit_item_model([Outcome(frozenset({18}), "見守り", True)] * 5, CURRENT)
