"""利用者アンケート (issue 16): the questions, their 5-point scale and the tallies (pure, no child data).

A round is opened by HQ for a period; while it is open every user who works the list (ward staff, 児童相談所)
answers three 5-point questions and may leave a comment. One answer per user per round: answering again
*replaces* the earlier answer while the round is open (a respondent may correct a slip; the tally still counts
each person once). Comments are read by HQ only; the tallies never carry them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

QUESTIONS: dict[str, str] = {
    "list": "対象者リスト（抽出された児童の一覧）は、支援が必要なこどもに気づくのに役立ちましたか",
    "evidence": "該当項目の根拠（どの情報が、いつ、どの課の記録から）の表示は、状況の把握に役立ちましたか",
    "workflow": "スクリーニングから終結までの記録の流れ（ワークフロー）は、日々の業務に役立ちましたか",
}
SCALE: dict[int, str] = {
    5: "とても役に立った", 4: "やや役に立った", 3: "どちらともいえない", 2: "あまり役に立たなかった",
    1: "まったく役に立たなかった",
}
COMMENT_MAX = 1000
TITLE_MAX = 100
NO_WARD = "本庁・全区"  # respondents without a ward (児童相談所 serving every ward)


class SurveyError(ValueError):
    """An answer or a round that cannot be accepted; the message is shown to the user (Japanese)."""


def check_round(title: str, opens_on: date, closes_on: date) -> str:
    title = title.strip()
    if not title or len(title) > TITLE_MAX:
        raise SurveyError(f"名称は1〜{TITLE_MAX}文字で入力してください")
    if closes_on < opens_on:
        raise SurveyError("終了日は開始日以降にしてください")
    return title


def check_answer(scores: dict[str, int], comment: str) -> tuple[dict[str, int], str]:
    if set(scores) != set(QUESTIONS):
        raise SurveyError("すべての設問に回答してください")
    for value in scores.values():
        if value not in SCALE:
            raise SurveyError("回答は1〜5の中から選んでください")
    comment = comment.strip()
    if len(comment) > COMMENT_MAX:
        raise SurveyError(f"ご意見は{COMMENT_MAX}文字以内で入力してください")
    return dict(scores), comment


def is_open(opens_on: date, closes_on: date, closed_early: bool, today: date) -> bool:
    return not closed_early and opens_on <= today <= closes_on


@dataclass
class QuestionTally:
    counts: dict[int, int] = field(default_factory=lambda: dict.fromkeys(SCALE, 0))

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        return sum(k * v for k, v in self.counts.items()) / self.n if self.n else None


@dataclass
class Tally:
    respondents: int = 0
    questions: dict[str, QuestionTally] = field(default_factory=lambda: {q: QuestionTally() for q in QUESTIONS})

    def add(self, scores: dict[str, int]) -> None:
        self.respondents += 1
        for question, value in scores.items():
            if question in self.questions and value in SCALE:
                self.questions[question].counts[value] += 1


def tally(answers: Iterable[tuple[str | None, dict[str, int]]]) -> tuple[Tally, dict[str, Tally]]:
    """City-wide and per-ward tallies of (ward code or None, scores) answers."""
    total, by_ward = Tally(), dict[str, Tally]()
    for ward, scores in answers:
        total.add(scores)
        by_ward.setdefault(ward or NO_WARD, Tally()).add(scores)
    return total, dict(sorted(by_ward.items()))
