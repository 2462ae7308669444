"""Rule files: the shipped ones load; a bad one is refused at start with a message saying where and why."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from services.scoring.adapters.rulebook import RulebookError, load_rulebook, parse_rulebook
from services.scoring.config import FUKUOKA_RULES, GUIDELINE_ALL_RULES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
GOOD = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")


def test_fukuoka_enables_items_3_9_to_13_and_15_to_19() -> None:
    book = load_rulebook(FUKUOKA_RULES)
    assert [r.item for r in book.rules.enabled if r.item < 100] == [3, 9, 10, 11, 12, 13, 15, 16, 17, 18, 19]
    assert book.rules.version and book.weights.version


def test_guideline_all_enables_every_item_with_the_default_thresholds() -> None:
    book = load_rulebook(GUIDELINE_ALL_RULES)
    assert [r.item for r in book.rules.enabled if r.item < 100] == list(range(1, 20))
    params = {r.item: r.params for r in book.rules.rules}
    assert params[12].threshold == 30 and params[13].threshold == 20 and params[15].weeks_at_least == 12
    assert params[17].total_at_least == 9 and params[9].rohrer_below == 100 and params[9].percentile_below == 3


@pytest.mark.parametrize(("text", "message"), [
    ("municipality = ", "not valid TOML"),
    (GOOD.replace("[items.7]", "[items.77]").replace("[items.7.params]", "[items.77.params]"),
     "missing: [7], unknown: [77]"),
    (GOOD.replace("threshold = 30", "threshold = 30\nthreshhold = 3"), "items.12.params: unknown parameter"),
    (GOOD.replace("threshold = 30", 'threshold = "many"'), "items.12.params: threshold"),
    (GOOD.replace("threshold = 30", "threshold = 0"), "items.12.params"),
    (GOOD.replace("weeks_at_least = 12", "weeks_at_least = 12.5"), "items.15.params"),
    (GOOD.replace('{ checkup = "3y", opens_at_months = 36, closes_at_months = 48 }',
                  '{ checkup = "3y", opens_at_months = 48, closes_at_months = 36 }'), "items.3.params"),
    (GOOD.replace('checkups = ["3-4m", "1y6m"]', 'checkups = ["5y"]', 1), "items.7.params"),
    (GOOD.replace('rules_version = "guideline-all-2025.2"\n', ""), "rules_version"),
    (GOOD.replace("enabled = true\n", "enabled = \"yes please\"\n", 1), "items.1.enabled"),
    (GOOD.replace('name = "重点", min_score = 4', 'name = "重点", min_score = 1'), "tiers must be listed"),
    (GOOD.replace('name = "見守り"', 'name = "様子見"'), "weights.tiers"),
    (GOOD.replace("[weights.items]\n", "[weights.items]\n20 = 1.0\n"), "weights.items names unknown item"),
    (GOOD + "\nsurprise = 1\n", "surprise"),
])
def test_a_bad_rule_file_is_refused_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(RulebookError) as refused:
        parse_rulebook(text, "bad.toml")
    assert message in str(refused.value)
    assert str(refused.value).startswith("bad.toml")


def test_a_missing_file_is_refused() -> None:
    with pytest.raises(RulebookError, match="cannot read the rule file"):
        load_rulebook(Path("/nonexistent/rules.toml"))


def test_the_worker_refuses_to_start_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace("threshold = 30", "threshold = -1"), encoding="utf-8")
    env = {**os.environ, "TSUNAGU_SCORING_CONFIG_PATH": str(bad), "TSUNAGU_SCORING_METRICS_PORT": "0"}
    run = subprocess.run([sys.executable, "-m", "services.scoring.entrypoints.worker"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "refusing to start" in run.stderr and "items.12.params" in run.stderr
