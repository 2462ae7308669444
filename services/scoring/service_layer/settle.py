"""Settling (an opt-in for demonstrations): a child whose records have stopped arriving for a while is evaluated
as the clock would evaluate it, instead of waiting for the next day's sweep.

An arriving fact never raises an absence flag (items 3 and 16, see ``RuleSpec.concludes_absence``): the next
day's sweep does, once every system's records for the day are in. A demonstration that loads a few families and
wants to show their missed checkups at once sets ``TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS``; the worker then
calls ``settle_child`` for each child that has had no new fact for that long. It publishes what the sweep would
publish (the same trigger, so the same event id as that day's sweep).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.scoring.adapters.rulebook import Rulebook
from services.scoring.service_layer.handlers import Published, StateStore, reassess
from services.scoring.service_layer.state import ChildState


def settle_child(child_id: str, raw_state: dict[str, Any], *, store: StateStore, rulebook: Rulebook,
                 today: date) -> Published | None:
    state = ChildState.from_json(raw_state)
    published = reassess(child_id, state, today, rulebook, trigger=f"sweep:{today.isoformat()}")
    store.put(child_id, state.to_json(), state.partition)
    return published
