"""The best-known ward: by the facts' own dates, never by arrival."""

from __future__ import annotations

import pytest

from services.casework.domain.ward_order import WardClaim, profile_is_stale, replaces, resolve

pytestmark = pytest.mark.unit


def test_the_latest_ward_by_its_own_date_wins_whichever_source_says_it() -> None:
    assert resolve(WardClaim("40131", "2026-04-01"), WardClaim("40132", "2026-05-01")) == "40132"
    assert resolve(WardClaim("40132", "2026-05-01"), WardClaim("40131", "2026-04-01")) == "40132"


def test_equal_or_unknown_dates_prefer_the_profile() -> None:
    assert resolve(WardClaim("40131", "2026-05-01"), WardClaim("40132", "2026-05-01")) == "40131"
    assert resolve(WardClaim("40131", None), WardClaim("40132", "2026-05-01")) == "40131"
    assert resolve(WardClaim("40131", "2026-04-01"), WardClaim("40132", None)) == "40131"


def test_a_ward_from_one_source_is_used_when_the_other_has_none() -> None:
    assert resolve(WardClaim(None), WardClaim("40132", None)) == "40132"
    assert resolve(WardClaim("40131"), WardClaim(None)) == "40131"
    assert resolve(WardClaim(None), WardClaim(None)) is None


def test_a_stale_or_unknown_ward_never_replaces_the_held_one() -> None:
    held = WardClaim("40132", "2026-05-01")
    assert not replaces(held, WardClaim("40131", "2026-04-01"))
    assert not replaces(held, WardClaim(None, "2026-06-01"))
    assert replaces(held, WardClaim("40133", "2026-06-01"))
    assert replaces(held, WardClaim("40133", None))  # an old message without a date: the later one
    assert replaces(WardClaim(None), WardClaim("40131", "2026-04-01"))


def test_an_older_profile_version_is_stale() -> None:
    assert profile_is_stale(3, 2)
    assert not profile_is_stale(3, 3) and not profile_is_stale(3, 4)
    assert not profile_is_stale(None, 1) and not profile_is_stale(3, None)
