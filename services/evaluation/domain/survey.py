"""利用者アンケート tallies as the evaluation report shows them (counts come from casework's survey-export file)."""

from __future__ import annotations

from dataclasses import dataclass, field

CITY = ""  # the city-wide rows carry no ward code


@dataclass
class QuestionCounts:
    counts: dict[int, int] = field(default_factory=dict)  # answer (1–5) → respondents

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return sum(k * v for k, v in self.counts.items()) / self.n if self.n else None

    def share(self, answer: int) -> float:
        return self.counts.get(answer, 0) / self.n if self.n else 0.0


@dataclass
class GroupTally:
    respondents: int = 0
    questions: dict[str, QuestionCounts] = field(default_factory=dict)


@dataclass
class SurveyTallies:
    title: str
    opens_on: str
    closes_on: str
    questions: dict[str, str]  # key → Japanese wording
    scale: dict[int, str]  # answer → label
    groups: dict[str, GroupTally]  # CITY and each ward code
    comments: list[tuple[str, str]]  # (ward, text): present only in HQ's file

    @property
    def total(self) -> GroupTally:
        return self.groups.get(CITY, GroupTally())

    @property
    def wards(self) -> dict[str, GroupTally]:
        return {w: g for w, g in sorted(self.groups.items()) if w != CITY}
