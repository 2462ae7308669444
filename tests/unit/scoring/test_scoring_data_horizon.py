"""Issue 14 (5): a source's data horizon. A go-live that loads only a few years of 母子保健 history must not read
the records it left out as missed checkups (item 3) or missed prenatal care (item 16)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from services.scoring.adapters.rulebook import RulebookError, load_rulebook, parse_rulebook
from services.scoring.config import GUIDELINE_ALL_RULES
from services.scoring.domain.rulebook import with_horizons
from tests.unit.scoring.scoring_builders import GUIDELINE, fact, raised, residence

pytestmark = pytest.mark.unit

GOOD = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")
HORIZON = with_horizons(GUIDELINE, {"maternal_child_health": date(2023, 4, 1)}, "go-live-2y")


def test_a_child_loaded_at_go_live_gets_no_years_old_missed_checkup() -> None:
    # 10 years old at go-live: its infant checkups predate the horizon, none were loaded
    child = [residence("2015-05-10")]
    assert 3 in raised(child, "2025-04-02")          # without a horizon: "missed" three times, years back
    assert 3 not in raised(child, "2025-04-02", HORIZON)


def test_only_windows_that_open_after_the_horizon_are_judged() -> None:
    # born 2022-12-10: 3–4 m opens 2023-03-10 (before), 1 y 6 m opens 2024-06-10 (after), 3 y 2025-12-10
    child = [residence("2022-12-10")]
    assert 3 not in raised(child, "2024-12-09", HORIZON)
    assert 3 in raised(child, "2024-12-10", HORIZON)  # the 1 y 6 m window closed: judged, missed
    attended = fact("infant_checkup", valid_from="2024-07-01", checkup="1y6m", checkup_date="2024-07-01",
                    attended=True)
    assert 3 not in raised([*child, attended], "2024-12-10", HORIZON)


def test_a_window_opening_on_the_horizon_is_judged() -> None:
    child = [residence("2023-01-01")]  # 3–4 m opens 2023-04-01, the horizon itself
    assert 3 in raised(child, "2023-07-01", HORIZON)


def _pregnancy(notified: str, born: str) -> list:  # type: ignore[type-arg]
    return [residence(born), fact("birth", relation="self", valid_from=born, birth_date=born, pregnancy_id="P1"),
            fact("pregnancy_notified", relation="mother", valid_from=notified, notification_date=notified,
                 pregnancy_id="P1", gestational_weeks=8)]


def test_no_prenatal_checkup_is_judged_only_for_pregnancies_after_the_horizon() -> None:
    before = _pregnancy("2023-03-01", "2023-10-01")
    assert 16 in raised(before, "2023-10-02")
    assert 16 not in raised(before, "2023-10-02", HORIZON)
    after = _pregnancy("2023-04-01", "2023-11-01")
    assert 16 in raised(after, "2023-11-02", HORIZON)


def test_other_items_are_not_touched_by_the_horizon() -> None:
    low = [residence("2020-01-01", sex="1"),
           fact("infant_checkup", valid_from="2021-07-05", checkup="1y6m", checkup_date="2021-07-05",
                attended=True, hit_emotionally=True)]
    assert 4 in raised(low, "2025-04-02", HORIZON)


def test_the_rule_file_declares_horizons_per_source_and_they_version_the_evaluation() -> None:
    text = GOOD + '\n[data_horizons]\nversion = "h-2025.1"\n[data_horizons.sources]\n' \
                  'maternal_child_health = 2023-04-01\n'
    book = parse_rulebook(text)
    assert book.horizons == {"maternal_child_health": date(2023, 4, 1)}
    params = {r.item: r.params for r in book.rules.rules}
    assert params[3].records_from == params[16].records_from == date(2023, 4, 1)
    assert book.versions.endswith("|h-2025.1") and book.versions != GUIDELINE.versions
    assert raised([residence("2015-05-10")], "2025-04-02", book) & {3} == set()


@pytest.mark.parametrize(("extra", "message"), [
    ('\n[data_horizons]\nversion = "h"\n[data_horizons.sources]\nmaternal_health = 2023-04-01\n',
     "unknown source system"),
    ('\n[data_horizons]\nversion = "h"\n[data_horizons.sources]\nmaternal_child_health = "soon"\n',
     "maternal_child_health"),
    ('\n[data_horizons]\n[data_horizons.sources]\nmaternal_child_health = 2023-04-01\n', "version"),
])
def test_a_bad_horizon_is_refused(extra: str, message: str) -> None:
    with pytest.raises(RulebookError, match=message):
        parse_rulebook(GOOD + extra)


def test_the_horizon_cannot_be_set_as_an_item_parameter(tmp_path: Path) -> None:
    text = GOOD.replace('resident_by = "opened"', 'resident_by = "opened"\nrecords_from = 2023-04-01', 1)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="data_horizons"):
        load_rulebook(path)


def test_without_a_horizon_nothing_changes() -> None:
    assert GUIDELINE.horizons == {} and GUIDELINE.versions.count("|") == 1
