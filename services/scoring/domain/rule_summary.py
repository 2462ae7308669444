"""What a rule book says, as a plain document: what HQ's adoption act compares (docs/scoring.md "Adopting a rule
file"). Pure: the loaded ``Rulebook`` in, JSON-ready dicts out; item numbers as strings, parameters as loaded."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from services.scoring.domain.rulebook import HORIZON_PARAM, Rulebook


def _plain(value: Any) -> Any:
    """Parameters as JSON values (dates as ISO days, tuples as lists), keys sorted: equal rules, equal documents."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def summarise(book: Rulebook) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for rule in book.rules.rules:
        params = dataclasses.asdict(rule.params) if dataclasses.is_dataclass(rule.params) and not isinstance(
            rule.params, type) else {}
        params.pop(HORIZON_PARAM, None)  # derived from [data_horizons], listed there
        rules[str(rule.item)] = {
            "label": rule.spec.label_ja, "enabled": rule.enabled, "version": rule.version,
            "params": _plain(params), "lookback": None if rule.lookback is None else str(rule.lookback),
        }
    return {
        "municipality": book.municipality,
        "versions": book.versions,
        "rules_version": book.rules.version,
        "weights_version": book.weights.version,
        "horizons_version": book.horizons_version,
        "age_limit_years": book.rules.age_limit_years,
        "items": rules,
        "weights": {str(item): weight for item, weight in sorted(book.weights.per_item.items())},
        "default_weight": book.weights.default_weight,
        "tiers": [[t.name, t.min_score] for t in book.weights.tiers],
        "horizons": {source: day.isoformat() for source, day in sorted(book.horizons.items())},
    }
