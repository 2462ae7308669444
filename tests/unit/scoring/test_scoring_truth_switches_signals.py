"""The ground-truth benchmark switches a connection signal on as a city would (``--signal no_contact``)."""

from __future__ import annotations

import pytest

from benchmarks.scoring_truth import _signal_params, with_signals
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import CONFIG_DIR

pytestmark = pytest.mark.unit


def test_no_contact_is_switched_on_for_the_run_and_nothing_else_changes() -> None:
    shipped = load_rulebook(CONFIG_DIR / "guideline-all.toml")
    assert 104 not in {r.item for r in shipped.rules.enabled}
    book = with_signals(shipped, ("no_contact",))
    assert {r.item for r in book.rules.enabled} == {r.item for r in shipped.rules.enabled} | {104}
    assert 104 in book.rules.raised_by_clock_only  # concluded from an absence: raised by the clock
    assert book.rules.reading({"allowance"}) and 104 in {r.item for r in book.rules.reading({"allowance"})}
    assert book.versions != shipped.versions  # a child evaluated without it is evaluated again


def test_an_unknown_signal_is_refused() -> None:
    with pytest.raises(SystemExit, match="unknown signal"):
        with_signals(load_rulebook(CONFIG_DIR / "fukuoka.toml"), ("no_such_signal",))


def test_a_signals_parameter_is_set_and_checked_as_the_rule_file_would() -> None:
    params = _signal_params(["no_contact.until_age_months=72", "no_contact.months=6"])
    assert params == {"no_contact": {"until_age_months": 72, "months": 6}}
    book = with_signals(load_rulebook(CONFIG_DIR / "fukuoka.toml"), ("no_contact",), params)
    [rule] = [r for r in book.rules.enabled if r.item == 104]
    assert (rule.params.until_age_months, rule.params.months) == (72, 6)
    with pytest.raises(ValueError, match="until_age_months"):
        with_signals(book, (), {"no_contact": {"until_age_months": 0}})
    with pytest.raises(SystemExit, match=r"CODE\.PARAM=INTEGER"):
        _signal_params(["no_contact=72"])
