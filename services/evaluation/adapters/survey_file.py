"""Reads casework's `survey-export` CSV (section, ward_code, question, answer, count, text): services never
import each other, the file is the shared document (docs/evaluation.md, 利用者アンケート)."""

from __future__ import annotations

import csv
from pathlib import Path

from services.evaluation.domain.survey import GroupTally, QuestionCounts, SurveyTallies

COLUMNS = ["section", "ward_code", "question", "answer", "count", "text"]


class SurveyFileError(ValueError):
    pass


def _text(value: str) -> str:
    # casework prefixes cells that a spreadsheet would run as formulas with "'"; undo it for the report
    return value[1:] if value.startswith("'") and value[1:2] in ("=", "+", "-", "@", "\t", "\r") else value


def load_survey(path: Path) -> SurveyTallies:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames != COLUMNS:
                raise SurveyFileError(f"{path}: not a survey-export file (columns {reader.fieldnames})")
            rows = list(reader)
    except OSError as exc:
        raise SurveyFileError(f"{path}: {exc.strerror}") from None
    meta: dict[str, str] = {}
    questions: dict[str, str] = {}
    scale: dict[int, str] = {}
    groups: dict[str, GroupTally] = {}
    comments: list[tuple[str, str]] = []
    try:
        for row in rows:
            section, ward = row["section"], row["ward_code"]
            if section == "round":
                meta[row["question"]] = _text(row["text"])
            elif section == "question":
                questions[row["question"]] = _text(row["text"])
            elif section == "scale":
                scale[int(row["answer"])] = _text(row["text"])
            elif section == "respondents":
                groups.setdefault(ward, GroupTally()).respondents = int(row["count"])
            elif section == "count":
                group = groups.setdefault(ward, GroupTally())
                group.questions.setdefault(row["question"], QuestionCounts()).counts[int(row["answer"])] = \
                    int(row["count"])
            elif section == "comment":
                comments.append((ward, _text(row["text"])))
    except (KeyError, ValueError, TypeError):
        raise SurveyFileError(f"{path}: a row is malformed") from None
    if "title" not in meta or not questions or not scale:
        raise SurveyFileError(f"{path}: the round, questions or scale are missing")
    return SurveyTallies(meta["title"], meta.get("opens_on", ""), meta.get("closes_on", ""), questions,
                         dict(sorted(scale.items())), groups, comments)
