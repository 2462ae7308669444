"""The connection signals (行政とのつながり, ``rules/connection.py``) at the contract's edge.

Inside scoring a signal is evaluated, deferred, dated and stored like a flag, under an item number from 101.
``scoring.flags.v1`` keeps ``FlagV1.item`` to the 19 guideline items: ``split_signals`` moves them, by code, to
the assessment's optional ``signals`` list (absent when empty, so assessments without signals are unchanged),
and keeps them out of ``raised_items`` / ``cleared_items``.
"""

from __future__ import annotations

from typing import Any

from services.scoring.domain.rules.connection import SIGNAL_CODES

GUIDELINE_ITEMS = range(1, 20)


def is_signal(item: int) -> bool:
    return item in SIGNAL_CODES


def public_assessment(assessment: dict[str, Any] | None) -> dict[str, Any] | None:
    """An assessment as AssessmentV1 JSON: flags of the 19 items, and signals (with their code) beside them."""
    if assessment is None or not any(is_signal(f["item"]) for f in assessment["flags"]):
        return assessment
    signals = [{"code": SIGNAL_CODES[f["item"]], **{k: v for k, v in f.items() if k != "item"}}
               for f in assessment["flags"] if is_signal(f["item"])]
    return {**assessment, "flags": [f for f in assessment["flags"] if not is_signal(f["item"])],
            "signals": signals}


def split_signals(data: dict[str, Any]) -> dict[str, Any]:
    """A ChildFlagsV1 message built from scoring's own assessments, made to the contract (a new dict)."""
    return {**data, "before": public_assessment(data["before"]), "after": public_assessment(data["after"]),
            "raised_items": [i for i in data["raised_items"] if i in GUIDELINE_ITEMS],
            "cleared_items": [i for i in data["cleared_items"] if i in GUIDELINE_ITEMS]}
