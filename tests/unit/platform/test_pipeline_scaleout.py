"""benchmarks/pipeline_scaleout.py's own logic: which truth spans count, and what a comparison of two runs calls a
difference, a lost child and an extra alert (the runs themselves need a broker: see docs/scaling.md)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from benchmarks.pipeline_scaleout import Outcome, _assigned, _fmt_parts, compare, read_truth

pytestmark = pytest.mark.unit


def _span(atena: str, item: int, start: str, end: str | None, known: str | None = None) -> str:
    return json.dumps({"person": "T1", "atena_no": atena, "item": item, "from": start, "to": end,
                       "known_from": known or start})


def test_the_truth_counts_enabled_items_known_on_the_day_and_since_the_morning_after_go_live(tmp_path: Path) -> None:
    (tmp_path / "flags.jsonl").write_text("\n".join([
        _span("A", 19, "2021-05-10", None, "2025-04-01"),  # true since before go-live, still true: both
        _span("B", 19, "2025-04-10", "2025-07-29"),  # ended on the evaluation day: ever, not today
        _span("C", 4, "2025-04-10", None),  # item 4 is not enabled in fukuoka.toml: neither
        _span("D", 9, "2014-03-16", "2015-07-28", "2025-04-01"),  # over years before go-live: neither
        _span("E", 3, "2025-07-01", None, "2025-08-02"),  # known only after the evaluation day: neither
        _span("F", 12, "2025-04-01", "2025-04-02", "2025-04-01"),  # gone by the morning after go-live: neither
        _span("G", 12, "2025-05-01", "2025-06-01"), _span("G", 19, "2025-06-01", None),
    ]) + "\n", encoding="utf-8")
    truth = read_truth(tmp_path, start=date(2025, 4, 1), today=date(2025, 7, 29))
    assert truth.today == {"A": {19}, "G": {19}}
    assert truth.ever == {"A": {19}, "B": {19}, "G": {12, 19}}


def _outcome(name: str, flags: dict[str, list[int]], alerts: list[tuple[str, ...]], twice: int = 0) -> Outcome:
    published = Counter({f"id-{i}": 2 for i in range(twice)})
    return Outcome(name, 1, 0.0, flags, alerts, published, {}, {}, {}, {})


def test_a_comparison_tells_lost_children_from_messages_without_flags(capsys: pytest.CaptureFixture[str]) -> None:
    ref = _outcome("single-1", {"a": [19], "b": [], "c": [15, 19]},
                   [("a", "40131", "予防", "[19]", "entered_tier"), ("b", "40133", "見守り", "[19]", "entered_tier")])
    same = _outcome("single-2", dict(ref.flags), list(ref.alerts))
    assert compare(ref, same, 10, None)
    other = _outcome("n2", {"a": [19], "c": [15, 19]},  # b: no flags message at all (it was [])
                     [("a", "40131", "予防", "[15]", "entered_tier")], twice=3)
    assert not compare(ref, other, 10, None)
    out = capsys.readouterr().out
    assert "n2 vs single-1: final flags differ for 1 children (lost 0, gained 0); alerts lost 2, extra 1; " \
           "alert ids published twice 3: DIFFERENT" in out
    lost = _outcome("n3", {"a": [19], "b": [], "c": []}, list(ref.alerts))
    assert not compare(ref, lost, 10, None)
    assert "(lost 1, gained 0)" in capsys.readouterr().out


def test_a_members_assignment_is_read_from_the_group_description() -> None:
    described = {"assigned_partitions": [{"topic": "linkage.facts.v1", "partitions": [5, 3, 4]},
                                         {"topic": "privacy.optouts.v1", "partitions": [3]}]}
    parts = _assigned(described)
    assert parts == {"linkage.facts.v1": [3, 4, 5], "privacy.optouts.v1": [3]}
    assert _fmt_parts(parts) == "4 partitions: linkage.facts.v1 [3, 4, 5], privacy.optouts.v1 [3]"
    assert _fmt_parts({f"source.s{i}.v1": [0, 1, 2] for i in range(16)}) == "48 partitions of 16 topics"
