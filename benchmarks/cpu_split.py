"""Where a worker's CPU goes, by part, measured at the boundaries of its pure-Python calls (issue 19).

A small helper for the in-process worker profiles (benchmarks/linkage_worker_profile.py). ``CpuSplit.wrap(owner,
name, part)`` replaces ``owner.name`` (a module's function, a class's method or an object's attribute: anything
looked up at call time) by a wrapper that adds the thread's CPU seconds spent in the call to ``part`` — less what
wrapped calls inside it took, which count in their own part, so the parts add up to the time spent in any of them.
``restore()`` puts every wrapped attribute back.

Why not cProfile or a sampler: code compiled with mypyc (linkage's hot modules) makes no profiling events and has no
Python frames, so cProfile charges it to whichever Python caller is visible and a sampler sees nothing of it, while
cProfile's own cost per Python call distorts the rest. A wrapper costs two ``time.thread_time`` calls (≈ 1 µs),
and only where it is put. ``MessageDigest`` is the digest of published messages that benchmarks/linkage_memory.py
prints (the same bytes give the same digest in both).
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()


class CpuSplit:
    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self._inner = [0.0]  # per open call: CPU seconds of the wrapped calls inside it (a stack)
        self._wrapped: list[tuple[Any, str, Any]] = []

    def timed(self, fn: Callable[..., Any], part: str) -> Callable[..., Any]:
        clock, inner, seconds, calls = time.thread_time, self._inner, self.seconds, self.calls

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            inner.append(0.0)
            started = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = clock() - started
                seconds[part] += spent - inner.pop()
                calls[part] += 1
                inner[-1] += spent

        return wrapper

    def wrap(self, owner: Any, name: str, part: str) -> None:
        """``owner.name`` timed as ``part`` from now on; it must exist (a renamed function fails here, loudly)."""
        before = owner.__dict__.get(name, _MISSING) if hasattr(owner, "__dict__") else _MISSING
        current = getattr(owner, name)
        if isinstance(before, (staticmethod, classmethod)):
            raise TypeError(f"{name}: wrap the function a static or class method calls instead")
        setattr(owner, name, self.timed(current if before is _MISSING else before, part))
        self._wrapped.append((owner, name, before))

    def replace(self, owner: Any, name: str, new: Any) -> None:
        """``owner.name`` is ``new`` until ``restore()`` (what ``wrap`` cannot wrap: ``new`` built with ``timed``)."""
        before = owner.__dict__.get(name, _MISSING)
        getattr(owner, name)
        setattr(owner, name, new)
        self._wrapped.append((owner, name, before))

    def restore(self) -> None:
        for owner, name, before in reversed(self._wrapped):
            if before is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, before)
        self._wrapped.clear()

    def table(self, total: float, per: int, unit: str, rest: str = "other") -> list[str]:
        """One line per part (and ``rest``: ``total`` less the parts), in ms per ``unit`` and share of ``total``."""
        parts = {**self.seconds, rest: total - sum(self.seconds.values())}
        return [f"  {part:<34} {1e3 * s / per:7.4f} ms/{unit}  {100 * s / total:5.1f} %  "
                f"({self.calls.get(part, 0):,} calls)" for part, s in sorted(parts.items(), key=lambda x: -x[1])]


class MessageDigest:
    """SHA-256 over every (topic, key, value, headers) in the order published: two runs publishing the same bytes in
    the same order give the same digest (benchmarks/linkage_memory.py's formula)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()
        self.count = 0

    def add(self, topic: str, key: bytes | None, value: bytes | None, headers: Mapping[str, str]) -> None:
        self._h.update(b"%d|%s|%d|%s|%d|%s|" % (len(topic), topic.encode(), len(key or b""), key or b"",
                                                len(value or b""), value or b""))
        self._h.update(repr(sorted(headers.items())).encode())
        self.count += 1

    def hexdigest(self) -> str:
        return self._h.hexdigest()[:16]
