"""Purge (issue 15, 保有の制限): which of a child's facts no rule of the rule file can count any more.

A fact may leave the child's stored state when every rule the rule file lists (enabled or not) that reads its
kind has a look-back window over that kind, and every one of those windows has closed for the fact. A kind that
places the child (residence, birth: age, scope, every window) is never purged, nor a kind that a listed rule
reads without a window, nor a kind no listed rule reads (it is not scoring's to judge). A rule the file does
not list cannot use the fact: enabling it later sees only the facts still held (retention works that way).
"""

from __future__ import annotations

from datetime import date

from services.scoring.domain.evaluation import SCOPE_KINDS, RuleSet
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.retention import Lookback, counts_on


def _windows(rules: RuleSet, kind: str) -> list[Lookback] | None:
    """The windows of every listed rule reading ``kind``; ``None`` when one reads it without a window."""
    windows = []
    for rule in rules.rules:
        if kind in rule.spec.reads:
            if rule.lookback is None or kind not in rule.lookback.kinds:
                return None
            windows.append(rule.lookback)
    return windows or None


def expired_facts(facts: ChildFacts, today: date, rules: RuleSet) -> list[str]:
    """The ids of the facts whose every window has closed by ``today``, in id order."""
    born = facts.birth_date(today)
    found = []
    for kind in sorted({f.kind for f in facts} - SCOPE_KINDS):
        windows = _windows(rules, kind)
        if windows is None:
            continue
        found += [f.fact_id for f in facts.of_kind(kind)
                  if not any(counts_on(w.counts_until(f, born), today) for w in windows)]
    return sorted(found)
