"""k-anonymity over the extract's quasi-identifiers (ward, age band, sex, household type).

Global recoding first (coarser age bands, level by level), then suppression of the records still in classes
smaller than k; the chosen level is the finest whose suppression stays within ``max_suppression``. Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from services.casework.domain.pseudonym import AGE_LEVELS, age_label

QUASI_IDENTIFIERS = ("ward_code", "age_band", "sex", "household_type")


@dataclass(frozen=True)
class Subject:
    ward_code: str
    age_months: int | None
    sex: str
    household_type: str


@dataclass(frozen=True)
class KResult:
    k: int
    level: int
    age_labels: list[str]  # per subject, at the chosen level
    suppressed: frozenset[int]  # indices of subjects removed from the extract
    classes: int = 0  # equivalence classes released
    smallest: int | None = None  # size of the smallest released class (≥ k)
    tried: list[dict[str, Any]] = field(default_factory=list)

    def report(self, total: int) -> dict[str, Any]:
        return {
            "k": self.k, "quasi_identifiers": list(QUASI_IDENTIFIERS), "age_generalisation_level": self.level,
            "subjects_before": total, "subjects_suppressed": len(self.suppressed),
            "subjects_released": total - len(self.suppressed),
            "equivalence_classes": self.classes, "smallest_class": self.smallest, "levels_tried": self.tried,
        }


def class_counts(subjects: Sequence[Subject], level: int) -> tuple[list[str], Counter[tuple[str, str, str, str]]]:
    labels = [age_label(s.age_months, level) for s in subjects]
    counts = Counter((s.ward_code, labels[i], s.sex, s.household_type) for i, s in enumerate(subjects))
    return labels, counts


def anonymise(subjects: Sequence[Subject], k: int = 5, max_suppression: float = 0.01) -> KResult:
    if k < 2:
        raise ValueError("k must be at least 2")
    tried: list[dict[str, Any]] = []
    chosen: tuple[int, list[str], Counter[tuple[str, str, str, str]]] | None = None
    for level in range(AGE_LEVELS):
        labels, counts = class_counts(subjects, level)
        small = sum(n for n in counts.values() if n < k)
        tried.append({"level": level, "subjects_in_small_classes": small})
        if not subjects or small <= max_suppression * len(subjects):
            chosen = (level, labels, counts)
            break
    if chosen is None:  # even the coarsest level leaves small classes: suppress them
        chosen = (AGE_LEVELS - 1, *class_counts(subjects, AGE_LEVELS - 1))
    level, labels, counts = chosen
    suppressed = frozenset(i for i, s in enumerate(subjects)
                           if counts[(s.ward_code, labels[i], s.sex, s.household_type)] < k)
    kept_sizes = [n for n in counts.values() if n >= k]
    return KResult(k=k, level=level, age_labels=labels, suppressed=suppressed, classes=len(kept_sizes),
                   smallest=min(kept_sizes) if kept_sizes else None, tried=tried)


def is_k_anonymous(rows: Sequence[tuple[str, ...]], k: int) -> bool:
    """Whether every combination of quasi-identifier values occurs at least k times (checks the output)."""
    return all(n >= k for n in Counter(rows).values())
