"""Simulated staff's approach outcomes: deterministic, valid step sequences, rates that follow the model."""

from __future__ import annotations

import pytest

from simulator.casework_staff import OutcomeModel, plan

pytestmark = pytest.mark.unit

ALLOWED = {  # state → {(action, result): next state}, written from docs/casework.md, not from the code
    "listed": {("二次スクリーニング", "要アプローチ"): "confer",
               ("二次スクリーニング", "既に支援につながっている"): "closed",
               ("二次スクリーニング", "非該当"): "closed"},
    "confer": {("関係三課協議", "決定"): "approach"},
    "approach": {("個別アプローチ", r): "assess" for r in ("面会できた", "電話で聴取できた", "拒否")}
    | {("個別アプローチ", "不在"): "approach", ("終結", "連絡不能"): "closed"},
    "assess": {("アセスメント", "支援が必要"): "planning", ("アセスメント", "支援は不要"): "closed"},
}


def test_every_plan_is_a_valid_walk_and_deterministic() -> None:
    model = OutcomeModel()
    for n in range(2000):
        truth = plan(f"a-{n}", [18] if n % 2 else [19], model, seed=1)
        assert truth == plan(f"a-{n}", [18] if n % 2 else [19], model, seed=1)
        state = "listed"
        for action, result, details in truth.steps:
            state = ALLOWED[state][(action, result)]
            if action == "関係三課協議":
                assert set(details) == {"approach_method", "lead_division"}
            if action == "個別アプローチ":
                assert details["hearing_notes"]
        assert state in ("closed", "planning")
        assert (state == "planning") == (truth.steps[-1] == ("アセスメント", "支援が必要", {}))


def test_rates_follow_the_model() -> None:
    model = OutcomeModel()
    truths = [plan(f"b-{n}", [18], model, seed=2) for n in range(6000)]
    already = sum(t.already_supported for t in truths) / len(truths)
    assert abs(already - model.already_supported) < 0.02
    attempts = [r for t in truths for a, r, _ in t.steps if a == "個別アプローチ"]
    assert abs(attempts.count("拒否") / len(attempts) - model.refusal) < 0.015
    assert abs(attempts.count("不在") / len(attempts) - (1 - model.met - model.phone - model.refusal)) < 0.02
    assert any(t.steps[-1][1] == "連絡不能" for t in truths)
    assessed = [t for t in truths if t.steps[-1][0] == "アセスメント"]
    ppv = sum(t.needs_support for t in assessed) / len(assessed)
    assert abs(ppv - model.p_need([18])) < 0.03  # item 18 triples the odds: the assessments carry the truth
    low = [plan(f"c-{n}", [], model, seed=2) for n in range(3000)]
    assert sum(t.needs_support for t in low) / 3000 < ppv - 0.15
