"""What a process holds: its RSS and peak from /proc, and the deep size of objects (the memory benchmarks)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import GetSetDescriptorType
from typing import Any


def proc_status() -> dict[str, int]:
    """VmRSS and VmHWM of this process, in KiB."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(rest.split()[0])
    return out


def deep_size(roots: Iterable[Any], seen: set[int], skip: frozenset[str] = frozenset()) -> int:
    """Bytes of everything reachable from ``roots`` not in ``seen`` (which it extends), each object once: containers,
    strings, numbers, dates and the slots (but those named in ``skip``) or __dict__ of other objects (the
    attributes of a class compiled by mypyc, which has neither: before, such an object counted as its header only).
    Classes, functions and modules are not followed."""
    total, todo = 0, list(roots)
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, type) or (callable(obj) and not hasattr(obj, "__slots__")):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            todo.extend(obj.keys())
            todo.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            todo.extend(obj)
        elif isinstance(obj, str | bytes | int | float | bool | date) or obj is None:
            continue
        else:
            names = [name for cls in type(obj).__mro__ for name in getattr(cls, "__slots__", ())]
            if not names and not hasattr(obj, "__dict__"):  # compiled (mypyc): native attributes, no __slots__
                names = [name for cls in type(obj).__mro__ if cls is not object for name, attr in vars(cls).items()
                         if isinstance(attr, GetSetDescriptorType) and not name.startswith("__")]
            for name in names:
                if name not in skip and hasattr(obj, name):
                    todo.append(getattr(obj, name))
            if hasattr(obj, "__dict__"):
                todo.append(obj.__dict__)
    return total
