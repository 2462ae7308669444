"""A service's Faust app for ``faust -A services.<service>.entrypoints.faust_app``, built on first use: the module
assigns ``__getattr__ = lazy_app(build)`` (PEP 562), so importing it opens no store, file or connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lazy_app(build: Callable[[], Any]) -> Callable[[str], Any]:
    built: list[Any] = []

    def __getattr__(name: str) -> Any:
        if name != "app":
            raise AttributeError(name)
        if not built:
            built.append(build())
        return built[0]

    return __getattr__
