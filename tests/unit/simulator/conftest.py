"""One small city per test session, generated once and shared (generation is the slow part)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from simulator.city import City
from simulator.events import SourceEvent
from simulator.life.engine import SimConfig


@dataclass
class Run:
    city: City
    events: list[SourceEvent]


def run_city(seed: int, scale: float, noise: float, days: int = 365) -> Run:
    city = City(SimConfig(seed=seed, scale=scale, days=days, noise_level=noise))
    return Run(city, list(city.events()))


@pytest.fixture(scope="session")
def clean_run() -> Run:
    """A 1 % Fukuoka (≈ 16 k residents), one year, no noise."""
    return run_city(seed=7, scale=0.01, noise=0.0)


@pytest.fixture(scope="session")
def noisy_run() -> Run:
    return run_city(seed=11, scale=0.005, noise=1.0)
