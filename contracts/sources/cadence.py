"""How long each source system may stay silent before someone should check: the one definition.

Used by ingest (it sends the allowed silence with each source's status on ``ingest.source_status.v1``), by the
ward UI (「要確認」 in the データの鮮度 panel) and rendered for Prometheus in ``deploy/prometheus/source_cadence.yml``
(the TsunaguSourceSilent alert); ``tests/unit/platform/test_metric_conventions.py`` fails when the two differ.
Seconds. Edit here and in the YAML together, to the city's real cadence.
"""

from __future__ import annotations

DAY_S = 86_400

SILENCE_ALLOWED_S: dict[str, int] = {
    "resident_registry": 4 * DAY_S,  # daily, business days (4 d covers a long weekend)
    "public_assistance": 4 * DAY_S,  # daily, business days
    "maternal_child_health": 4 * DAY_S,  # daily, business days
    "child_allowance": 14 * DAY_S,  # weekly to monthly
    "special_child_allowance": 35 * DAY_S,  # monthly
    "single_parent_loans": 35 * DAY_S,  # monthly
    "childcare": 14 * DAY_S,  # weekly
    "medical_subsidy": 14 * DAY_S,  # weekly
    "disability": 35 * DAY_S,  # monthly
    "long_term_care": 35 * DAY_S,  # monthly
    "school_students": 35 * DAY_S,  # monthly (CSV media)
    "school_affairs": 35 * DAY_S,  # monthly attendance (CSV media)
    "school_surveys": 200 * DAY_S,  # twice a year (CSV media)
    "school_aid": 35 * DAY_S,  # monthly
    "school_lunch_fees": 35 * DAY_S,  # monthly
    "child_guidance": 14 * DAY_S,  # weekly
}
