"""Renders the reports as self-contained Japanese HTML (inline CSS, figures as data URIs): one file to mail or
print, nothing loaded from elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from contracts.vocabulary import WARDS
from services.evaluation.domain.stats import Proportion

TEMPLATES = Path(__file__).with_name("templates")
WARD_NAMES = WARDS


def pct(p: Proportion | None, interval: bool = True) -> str:
    if p is None or p.rate is None:
        return "—"
    text = f"{100 * p.rate:.1f}%"
    if interval and p.low is not None and p.high is not None:
        text += f"（{100 * p.low:.1f}–{100 * p.high:.1f}）"
    return text


def num(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.{digits}f}"


def ward_name(code: str) -> str:
    return f"{WARD_NAMES[code]}（{code}）" if code in WARD_NAMES else code


def delta(now: int, before: int) -> str:
    diff = now - before
    return "±0" if diff == 0 else f"{diff:+,}"


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=pct, num=num, ward=ward_name)
    env.globals.update(delta=delta)
    return env


def render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
