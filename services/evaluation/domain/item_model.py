"""Item ↔ need: a logistic regression of "assessed as needing support" on the items at listing.

Odds ratios with 95 % intervals per item, the current tiers' calibration (observed rate against the model's
mean prediction), and proposed weights beside the current ones: shown to the committee, never applied.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

from services.evaluation.domain.stats import Proportion, wilson
from services.evaluation.domain.weights import Weights


@dataclass(frozen=True)
class Outcome:
    items: frozenset[int]
    tier: str
    needs_support: bool


@dataclass(frozen=True)
class OddsRatio:
    item: int
    cases: int  # assessed children carrying the item
    odds_ratio: float
    low: float
    high: float
    p_value: float


@dataclass(frozen=True)
class TierCalibration:
    tier: str
    observed: Proportion
    predicted_mean: float


@dataclass(frozen=True)
class ProposedWeight:
    item: int
    current: float
    proposed: float
    basis: str  # モデル / 据置 (too few cases to estimate)


@dataclass(frozen=True)
class ItemModel:
    assessed: int
    needing: int
    odds_ratios: list[OddsRatio]
    excluded: list[int]  # items with too few assessed children (or no variation) to estimate
    calibration: list[TierCalibration]
    proposed: list[ProposedWeight]
    proposed_thresholds: list[tuple[str, float, float]]  # (tier, current min_score, proposed min_score)
    converged: bool


class NotEnoughData(ValueError):
    pass


def _estimable(outcomes: Sequence[Outcome], min_cases: int) -> tuple[list[int], list[int]]:
    keep, drop = [], []
    for item in range(1, 20):
        with_item = [o.needs_support for o in outcomes if item in o.items]
        # An item needs children with and without need among its carriers, or its odds ratio is infinite.
        if len(with_item) >= min_cases and 0 < sum(with_item) < len(with_item) and len(with_item) < len(outcomes):
            keep.append(item)
        elif with_item:
            drop.append(item)
    return keep, drop


def _design(outcomes: Sequence[Outcome], items: list[int]) -> tuple[np.ndarray, list[int], list[int]]:
    """The design matrix (constant first); an item that the constant and earlier items already determine (say,
    every assessed child carries either 18 or 19) cannot be estimated apart from them and is left out."""
    x = np.ones((len(outcomes), 1))
    kept: list[int] = []
    dropped: list[int] = []
    for item in items:
        column = np.array([[1.0 if item in o.items else 0.0] for o in outcomes])
        candidate = np.hstack([x, column])
        if np.linalg.matrix_rank(candidate) == candidate.shape[1]:
            x, kept = candidate, [*kept, item]
        else:
            dropped.append(item)
    return x, kept, dropped


def _exp(value: float) -> float:
    return math.exp(min(value, 700.0))


def fit_item_model(outcomes: Sequence[Outcome], current: Weights, *, min_cases: int = 10,
                   population: Sequence[frozenset[int]] | None = None) -> ItemModel:
    """``population``: every flagged child's items, to size the proposed tiers (default: the assessed)."""
    needing = sum(o.needs_support for o in outcomes)
    if len(outcomes) < 2 * min_cases or needing in (0, len(outcomes)):
        raise NotEnoughData(f"{len(outcomes)} assessed children, {needing} needing support: too few to model")
    items, excluded = _estimable(outcomes, min_cases)
    x, items, collinear = _design(outcomes, items)
    excluded = sorted([*excluded, *collinear])
    y = np.array([1.0 if o.needs_support else 0.0 for o in outcomes])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence trouble is reported through ``converged``
        result = sm.Logit(y, x).fit(disp=False, maxiter=200)
    params, conf, pvalues = np.asarray(result.params), np.asarray(result.conf_int()), np.asarray(result.pvalues)
    ors = [OddsRatio(item, sum(1 for o in outcomes if item in o.items), _exp(params[j + 1]),
                     _exp(conf[j + 1][0]), _exp(conf[j + 1][1]), float(pvalues[j + 1]))
           for j, item in enumerate(items)]
    predicted = np.asarray(result.predict(x))
    calibration = []
    for tier in sorted({o.tier for o in outcomes}, key=lambda t: (*current.tier_names, t).index(t)):
        rows = [k for k, o in enumerate(outcomes) if o.tier == tier]
        calibration.append(TierCalibration(tier, wilson(sum(outcomes[k].needs_support for k in rows), len(rows)),
                                           float(predicted[rows].mean())))
    proposed = propose_weights(current, {o.item: math.log(o.odds_ratio) for o in ors})
    thresholds = propose_thresholds(current, proposed, population or [o.items for o in outcomes])
    return ItemModel(len(outcomes), needing, ors, excluded, calibration, proposed, thresholds,
                     bool(result.mle_retvals.get("converged", False)))


def propose_weights(current: Weights, log_odds: dict[int, float]) -> list[ProposedWeight]:
    """Weights proportional to each item's log odds ratio (never below 0), scaled so the modelled items keep
    their current total weight, rounded to 0.5; items the model could not estimate keep their weight."""
    modelled = [i for i in log_odds]
    positive = {i: max(0.0, log_odds[i]) for i in modelled}
    total_now = sum(current.weight(i) for i in modelled)
    scale = total_now / sum(positive.values()) if sum(positive.values()) > 0 else 0.0
    rows = []
    for item in range(1, 20):
        now = current.weight(item)
        if item in positive:
            rows.append(ProposedWeight(item, now, round(positive[item] * scale * 2) / 2, "モデル"))
        else:
            rows.append(ProposedWeight(item, now, now, "据置"))
    return rows


def as_weights(current: Weights, proposed: list[ProposedWeight], thresholds: list[tuple[str, float, float]],
               version: str) -> Weights:
    return Weights(version, {p.item: p.proposed for p in proposed},
                   tuple((name, new) for name, _old, new in thresholds), current.default_weight,
                   dict(current.per_signal))  # the model proposes item weights; signal weights are kept


def propose_thresholds(current: Weights, proposed: list[ProposedWeight],
                       item_sets: Sequence[frozenset[int]]) -> list[tuple[str, float, float]]:
    """Thresholds that keep each tier about as large as now under the proposed weights (quantile matching),
    so the committee compares who is listed, not how many."""
    new = {p.item: p.proposed for p in proposed}
    now_scores = sorted((current.score(s) for s in item_sets), reverse=True)
    new_scores = sorted((round(sum(new.get(i, current.default_weight) for i in s), 6) for s in item_sets),
                        reverse=True)
    rows, previous = [], math.inf
    for name, min_score in current.tiers:
        size = sum(1 for s in now_scores if s >= min_score)
        cut = new_scores[size - 1] if 0 < size <= len(new_scores) else min_score
        cut = max(cut, 0.5)
        if cut >= previous:  # thresholds must descend and stay above 0
            cut = previous - 0.5 if previous > 1.0 else previous / 2
        rows.append((name, min_score, cut))
        previous = cut
    return rows
