"""``observe_each``: many observations into a histogram at once, the same buckets and sum as one ``observe`` each."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from contracts.histograms import observe_each

pytestmark = pytest.mark.unit

E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the *_created ones (when each series was made)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in registry.collect() for s in m.samples
            if not s.name.endswith("_created")}


def test_observe_each_fills_the_buckets_and_the_sum_as_observe_does() -> None:
    one, many = CollectorRegistry(), CollectorRegistry()
    by_one = Histogram("h", "h", registry=one, buckets=E2E_BUCKETS)
    by_many = Histogram("h", "h", registry=many, buckets=E2E_BUCKETS)
    # every bound itself (le is inclusive), just above and below each, zero, and past the last bound
    amounts = [0.0, 1e9] + [b + d for b in E2E_BUCKETS for d in (-1e-9, 0.0, 1e-9)]
    for amount in amounts:
        by_one.observe(amount)
    observe_each(by_many, amounts)
    observe_each(by_many, [])

    expected, got = _samples(one), _samples(many)
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12), name
    assert got[("h_bucket", (("le", "0.01"),))] == 3  # 0, 0.01 - ε and 0.01: the same as observe, not off by one
