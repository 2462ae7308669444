"""bootstrap(settings) -> Container: the rule file loaded, the clock chosen by the settings."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry

from services.scoring.adapters.clock import FixedClock, SystemClock
from services.scoring.bootstrap import bootstrap
from services.scoring.config import ScoringSettings
from services.scoring.metrics import ScoringMetrics

pytestmark = pytest.mark.unit


def test_a_fixed_day_in_the_settings_gives_a_fixed_clock() -> None:
    container = bootstrap(ScoringSettings(today=date(2026, 4, 1)), metrics=ScoringMetrics(CollectorRegistry()))
    assert isinstance(container.clock, FixedClock) and container.clock.today() == date(2026, 4, 1)
    assert container.rulebook.rules.rules, "the shipped rule file is loaded"


def test_otherwise_the_system_clock_in_the_municipalitys_time_zone() -> None:
    container = bootstrap(ScoringSettings(timezone="Pacific/Kiritimati"), metrics=ScoringMetrics(CollectorRegistry()))
    assert isinstance(container.clock, SystemClock)
    before = datetime.now(ZoneInfo("Pacific/Kiritimati")).date()  # UTC+14: a different day from UTC for 14 h
    assert container.clock.today() in {before, datetime.now(ZoneInfo("Pacific/Kiritimati")).date()}
