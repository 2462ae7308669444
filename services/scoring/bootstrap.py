"""The one place that builds scoring's settings, rule book, clock and metrics and hands them down."""

from __future__ import annotations

from dataclasses import dataclass

from services.scoring.adapters.adoption import check_adoption
from services.scoring.adapters.clock import FixedClock, SystemClock
from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import ScoringSettings
from services.scoring.domain.rulebook import Rulebook
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.ports import Clock


@dataclass
class Container:
    """What scoring's worker is given (entrypoints/worker.py ``run``): all of it is cheap and always
    needed, so bootstrap builds it at once."""

    settings: ScoringSettings
    rulebook: Rulebook
    clock: Clock
    metrics: ScoringMetrics


def bootstrap(settings: ScoringSettings | None = None, *, clock: Clock | None = None,
              metrics: ScoringMetrics | None = None) -> Container:
    settings = settings or ScoringSettings()
    rulebook = load_rulebook(settings.config_path)  # a bad file stops start-up here, with the reason
    metrics = metrics or ScoringMetrics()
    # a file HQ has not adopted: refused in production (RuleFileNotAdopted is a RulebookError), warned elsewhere
    check_adoption(settings.config_path, rulebook, environment=settings.environment, metrics=metrics)
    if clock is None:
        clock = FixedClock(settings.today) if settings.today else SystemClock(settings.timezone)
    return Container(settings, rulebook, clock, metrics)
