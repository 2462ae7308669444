"""The casework worker's garbage collector setting (``GC_YOUNG_THRESHOLD``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from services.casework.config import CaseworkSettings
from services.casework.entrypoints.worker import tune_gc

pytestmark = pytest.mark.unit


@pytest.fixture
def thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_only_the_youngest_generation_waits_longer(thresholds: None) -> None:
    gc.set_threshold(700, 11, 12)
    tune_gc(CaseworkSettings().gc_young_threshold)
    assert gc.get_threshold() == (20_000, 11, 12)


def test_a_threshold_below_pythons_own_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_GC_YOUNG_THRESHOLD", "699")
    with pytest.raises(ValidationError):
        CaseworkSettings()
