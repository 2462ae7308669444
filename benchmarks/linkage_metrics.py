"""Pairwise and cluster metrics of a record → registry linkage against the truth."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int
    b3_precision: float
    b3_recall: float
    exact_clusters: float  # share of true clusters reproduced exactly

    def row(self) -> str:
        return (f"{self.precision:.4f} {self.recall:.4f} {self.f1:.4f} {self.tp:>6} {self.fp:>5} {self.fn:>5} "
                f"{self.b3_precision:.4f} {self.b3_recall:.4f} {self.exact_clusters:.4f}")


HEADER = "precision recall f1 tp fp fn b3_precision b3_recall exact_clusters"


def score(predicted: dict[str, str | None], truth: dict[str, str | None]) -> Scores:
    """``predicted``/``truth``: school record id → registry 宛名番号 (None: a person not in the registry)."""
    tp = sum(1 for r, t in truth.items() if t is not None and predicted.get(r) == t)
    fp = sum(1 for r, p in predicted.items() if p is not None and truth.get(r) != p)
    fn = sum(1 for r, t in truth.items() if t is not None and predicted.get(r) != t)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    b3p, b3r, exact = _cluster_scores(predicted, truth)
    return Scores(precision, recall, f1, tp, fp, fn, b3p, b3r, exact)


def _clusters(assign: dict[str, str | None]) -> dict[str, frozenset[str]]:
    """Every element (school records and registry persons) → its cluster; unassigned records are singletons."""
    groups: dict[str, set[str]] = defaultdict(set)
    for record, person in assign.items():
        if person is None:
            groups[f"rec:{record}"].add(f"rec:{record}")
        else:
            groups[f"reg:{person}"] |= {f"rec:{record}", f"reg:{person}"}
    return {e: frozenset(g) for g in groups.values() for e in g}


def _cluster_scores(predicted: dict[str, str | None], truth: dict[str, str | None]) -> tuple[float, float, float]:
    pc, tc = _clusters(predicted), _clusters(truth)
    elements = set(pc) | set(tc)
    for e in elements:  # a registry person not linked in one view is a singleton there
        pc.setdefault(e, frozenset([e]))
        tc.setdefault(e, frozenset([e]))
    b3p = sum(len(pc[e] & tc[e]) / len(pc[e]) for e in elements) / len(elements)
    b3r = sum(len(pc[e] & tc[e]) / len(tc[e]) for e in elements) / len(elements)
    true_clusters = set(tc.values())
    exact = sum(1 for c in true_clusters if all(pc[e] == c for e in c)) / len(true_clusters)
    return b3p, b3r, exact
