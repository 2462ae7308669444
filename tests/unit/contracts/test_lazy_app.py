"""``faust -A`` finds each worker's ``app``, built once and only when asked; importing builds nothing."""

from __future__ import annotations

import pytest

from contracts.lazy_app import lazy_app

pytestmark = pytest.mark.unit


def test_the_app_is_built_on_first_use_and_once() -> None:
    builds: list[object] = []
    getattr_ = lazy_app(lambda: builds.append(object()) or builds[-1])
    assert builds == []
    first = getattr_("app")
    assert getattr_("app") is first and len(builds) == 1
    with pytest.raises(AttributeError):
        getattr_("other")
